using System.IO.Compression;
using System.Text;
using Cluster.Model.Checkpoints;
using Cluster.Testing;
using Cluster.Torch;
using Xunit;

namespace Cluster.Model.Tests;

/// <summary>
/// pytorch_model.bin files that are malformed or crafted: integers past 64 bits, lengths past the data, storages that
/// disagree with the pickle, zip bombs, escaping names. Each ends in CheckpointException naming the file and the byte or
/// entry, within a memory budget; a seeded fuzz of the real torch.save fixture ends in a refusal or a good load.
/// </summary>
public sealed class TorchPickleValidationTests : IDisposable
{
    const long Budget = 16 << 20;
    readonly string _dir = Directory.CreateTempSubdirectory("cluster-pickle-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The entries of the torch.save fixture (state_dict/data.pkl, state_dict/data/0 … 9, version), in order.</summary>
    static List<(string Name, byte[] Data)> GoodEntries()
    {
        using var zip = ZipFile.OpenRead(Path.Combine(AppContext.BaseDirectory, "fixtures", "pickle", "state_dict.bin"));
        return zip.Entries.Select(e =>
        {
            using var s = e.Open();
            using var m = new MemoryStream();
            s.CopyTo(m);
            return (e.FullName, m.ToArray());
        }).ToList();
    }

    static List<string> GoodKeys()
    {
        using var scope = torch.NewDisposeScope();
        return [.. TorchPickle.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "pickle", "state_dict.bin")).Keys];
    }

    static byte[] GoodPickle() => GoodEntries().Single(e => e.Name.EndsWith("data.pkl")).Data;

    string Archive(IEnumerable<(string Name, byte[] Data)> entries, CompressionLevel level = CompressionLevel.NoCompression, string name = "case.bin")
    {
        var path = Path.Combine(_dir, name);
        File.Delete(path);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
            foreach (var (entryName, data) in entries)
            {
                using var s = zip.CreateEntry(entryName, level).Open();
                s.Write(data);
            }
        return path;
    }

    /// <summary>The fixture's archive with data.pkl (or another entry) replaced.</summary>
    string With(string suffix, byte[] data) =>
        Archive(GoodEntries().Select(e => e.Name.EndsWith(suffix, StringComparison.Ordinal) ? (e.Name, data) : e));

    /// <summary>An archive whose data.pkl is PROTO 2 followed by <paramref name="code"/>.</summary>
    string PickleOf(params byte[] code) => Archive([("archive/data.pkl", [0x80, 0x02, .. code])]);

    static string Refusal(string path, long budget = Budget)
    {
        var probe = new AllocationProbe();
        string message;
        using (torch.NewDisposeScope())
            message = Assert.Throws<CheckpointException>(() => TorchPickle.Load(path)).Message;
        probe.Within(budget, path);
        Assert.Contains(path, message);
        return message;
    }

    public static TheoryData<byte[], string> BadCode => new()
    {
        { [0x8a, 9, 1, 0, 0, 0, 0, 0, 0, 0, 1, (byte)'.'], "byte 2: a 9-byte integer, wider than 64 bits" },
        { [(byte)'X', 0xff, 0xff, 0xff, 0x7f, (byte)'.'], "byte 2: a length of 2147483647 runs past the end of the pickle" },
        { [(byte)'X', 0xff, 0xff, 0xff, 0xff, (byte)'.'], "a length of -1 runs past the end" },
        { [0x8d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, (byte)'.'], "a length of 9223372036854775807 runs past the end" },
        { [0x8c, 2, 0xff, 0xfe, (byte)'.'], "a string that is not valid UTF-8" },
        { [(byte)'a'], "stack underflow" },
        { [(byte)'q', 0], "stack underflow" },
        { [(byte)'h', 7, (byte)'.'], "memo entry 7 is not defined" },
        { [(byte)'t', (byte)'.'], "no MARK" },
        { [.. "cposix\nsystem\n"u8, (byte)'.'], "refusing global posix.system" },
        { [(byte)'N', (byte)'.'], "holds a None, not a state dict" },
        { [(byte)'}'], "no STOP: truncated pickle" },
        { [0x8b, 0, 0, 0, 0, (byte)'.'], "opcode 0x8b is not allowed" },
    };

    [Theory]
    [MemberData(nameof(BadCode))]
    public void Malformed_pickle_code_is_refused_with_its_byte_offset(byte[] code, string message)
    {
        Assert.Contains(message, Refusal(PickleOf(code)));
    }

    [Fact]
    public void A_pickle_that_creates_objects_without_end_is_refused_at_the_object_limit()
    {
        // An empty list, then a million appends of a fresh dict: 2 MB of pickle asking for far more memory.
        var code = new List<byte> { (byte)']' };
        for (var i = 0; i < TorchPickle.MaxPickleObjects; i++) code.AddRange("}a"u8.ToArray());
        code.Add((byte)'.');
        Assert.Contains($"creates more than {TorchPickle.MaxPickleObjects} objects", Refusal(PickleOf([.. code]), budget: 256 << 20));
    }

    [Fact]
    public void A_storage_whose_size_disagrees_with_the_pickle_is_refused_before_it_is_read()
    {
        // Storage '0' is FloatStorage with 6 elements (24 bytes) in the pickle.
        var longer = Refusal(With("data/0", new byte[28]));
        Assert.Contains("storage '0' holds 7 Float32 elements but the pickle says 6", longer);
        Assert.Contains("data.pkl byte 143", longer); // the BINPERSID that asked for it
        Assert.Contains("storage '0' has 25 bytes, not a whole number of Float32 elements", Refusal(With("data/0", new byte[25])));
        Assert.Contains("storage '0' is missing from the archive", Refusal(Archive(GoodEntries().Where(e => !e.Name.EndsWith("data/0")))));
    }

    [Fact]
    public void Zip_bombs_are_refused_from_the_central_directory_without_inflating()
    {
        // 32 MB of zeros deflates to about 32 KB: refused for its ratio; 80 MB is past the data.pkl limit as well.
        foreach (var (megabytes, message) in new[] { (32, "refused as a decompression bomb"), (80, $"more than the {TorchPickle.MaxPickleBytes} allowed") })
        {
            var path = Path.Combine(_dir, $"bomb-{megabytes}.bin");
            using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
            using (var s = zip.CreateEntry("archive/data.pkl", CompressionLevel.SmallestSize).Open())
                for (var i = 0; i < megabytes; i++) s.Write(new byte[1 << 20]);
            Assert.True(new FileInfo(path).Length < 1 << 20);
            Assert.Contains(message, Refusal(path));
        }
    }

    [Fact]
    public void An_entry_is_never_inflated_past_the_size_it_declares()
    {
        // 60 MB of zeros hidden after the pickle, with both headers claiming only the pickle's own length.
        var pickle = GoodPickle();
        const int Hidden = 60 << 20;
        var path = Path.Combine(_dir, "liar.bin");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
            foreach (var (name, data) in GoodEntries())
            {
                using var s = zip.CreateEntry(name, CompressionLevel.SmallestSize).Open();
                s.Write(data);
                if (name.EndsWith("data.pkl"))
                    for (var i = 0; i < Hidden >> 20; i++) s.Write(new byte[1 << 20]);
            }
        var bytes = File.ReadAllBytes(path);
        var inflated = BitConverter.GetBytes(pickle.Length + Hidden);
        int patched = 0;
        for (var i = 0; i + 30 < bytes.Length; i++)
        {
            bool local = bytes.AsSpan(i, 4).SequenceEqual("PK\x03\x04"u8), central = bytes.AsSpan(i, 4).SequenceEqual("PK\x01\x02"u8);
            int at = local ? i + 22 : central ? i + 24 : -1;
            if (at >= 0 && bytes.AsSpan(at, 4).SequenceEqual(inflated)) { BitConverter.GetBytes(pickle.Length).CopyTo(bytes, at); patched++; }
        }
        Assert.Equal(2, patched);
        File.WriteAllBytes(path, bytes);

        // Either refused (a checksum or size mismatch) or the real state dict: never the hidden bytes.
        var probe = new AllocationProbe();
        using (torch.NewDisposeScope())
            try { Assert.Equal(GoodKeys(), TorchPickle.Load(path).Keys); }
            catch (CheckpointException e) { Assert.Contains(path, e.Message); }
        probe.Within(Budget, path);
    }

    [Fact]
    public void A_view_larger_than_the_process_may_hold_is_refused_before_it_is_used()
    {
        // {'w': _rebuild_tensor_v2(FloatStorage '0' of one element, 0, (2^40, 2^40), (0, 0))}: valid as a view, absurd to load.
        static byte[] Str(string s) => [(byte)'X', .. BitConverter.GetBytes(s.Length), .. Encoding.UTF8.GetBytes(s)];
        byte[] huge = [0x8a, 6, 0, 0, 0, 0, 0, 1];
        byte[] code =
        [
            (byte)'}', (byte)'(', .. Str("w"), .. "ctorch._utils\n_rebuild_tensor_v2\n"u8, (byte)'(',
            (byte)'(', .. Str("storage"), .. "ctorch\nFloatStorage\n"u8, .. Str("0"), .. Str("cpu"), (byte)'K', 1, (byte)'t', (byte)'Q',
            (byte)'K', 0, (byte)'(', .. huge, .. huge, (byte)'t', (byte)'(', (byte)'K', 0, (byte)'K', 0, (byte)'t', (byte)'t', (byte)'R',
            (byte)'u', (byte)'.',
        ];
        var path = Archive([("archive/data.pkl", [0x80, 0x02, .. code]), ("archive/data/0", new byte[4])]);
        Assert.Contains("a tensor of size [1099511627776, 1099511627776], more than the memory this process may use", Refusal(path));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("state_dict/../../escape")]
    [InlineData("/etc/escape")]
    public void Entry_names_that_climb_out_or_are_absolute_are_refused(string name)
    {
        var path = Archive([.. GoodEntries(), (name, "x"u8.ToArray())]);
        Assert.Contains($"zip entry '{name}' is an absolute path or climbs out with '..'", Refusal(path));
    }

    [Fact]
    public void Seeded_mutations_end_in_a_refusal_or_a_good_load_within_budget()
    {
        var entries = GoodEntries();
        var file = File.ReadAllBytes(Archive(entries, name: "good.bin"));
        var random = new Random(18);
        var baseline = LiveTensors.Settled();
        int refused = 0, loaded = 0;
        for (var i = 0; i < 400; i++)
        {
            var path = Mutant(entries, file, random, i);
            var probe = new AllocationProbe();
            using (torch.NewDisposeScope())
            {
                try
                {
                    var tensors = TorchPickle.Load(path);
                    // A load is a good file: its tensors save as safetensors and load back under the same names and shapes.
                    var again = Path.Combine(_dir, "again.safetensors");
                    SafeTensors.Save(again, tensors.Select(kv => KeyValuePair.Create(kv.Key, kv.Value.contiguous())).ToList());
                    var back = SafeTensors.Load(again);
                    Assert.Equal(tensors.Keys, back.Keys);
                    Assert.All(tensors, kv => Assert.Equal(kv.Value.shape, back[kv.Key].shape));
                    loaded++;
                }
                catch (CheckpointException e)
                {
                    Assert.Contains(path, e.Message);
                    refused++;
                }
                probe.Within(Budget, $"mutation {i}");
            }
            Assert.Equal(baseline, torch.LiveTensorCount);
        }
        Assert.True(refused > 150, $"only {refused} of 400 mutations were refused");
        Assert.True(loaded > 5, $"only {loaded} of 400 mutations loaded (flips inside tensor data should)");
    }

    /// <summary>
    /// Byte flips and truncation of the archive; flips, truncation, length fields (0, huge, past the end) and invalid UTF-8
    /// inside data.pkl, re-zipped so the pickle machine sees them; storages resized.
    /// </summary>
    string Mutant(List<(string Name, byte[] Data)> entries, byte[] file, Random random, int i)
    {
        var pickle = entries[0].Data;
        byte[] code = (byte[])pickle.Clone();
        switch (i % 8)
        {
            case 0:
                var flipped = (byte[])file.Clone();
                for (var n = random.Next(1, 4); n > 0; n--) flipped[random.Next(flipped.Length)] ^= (byte)random.Next(1, 256);
                return Write(flipped);
            case 1:
                return Write(file[..random.Next(file.Length)]);
            case 2 or 3:
                for (var n = random.Next(1, 3); n > 0; n--) code[random.Next(code.Length)] ^= (byte)random.Next(1, 256);
                break;
            case 4:
                code = code[..random.Next(code.Length)];
                break;
            case 5:
            {
                // A BINUNICODE length set to 0, huge, negative or just past the end.
                var at = Occurrences(code, (byte)'X').OrderBy(_ => random.Next()).First() + 1;
                int length = random.Next(4) switch { 0 => 0, 1 => int.MaxValue, 2 => -random.Next(1, 1000), _ => code.Length - at + random.Next(1, 64) };
                BitConverter.GetBytes(length).CopyTo(code, at);
                break;
            }
            case 6:
            {
                // A byte that is never UTF-8 inside a string (a key or a storage name).
                var at = Occurrences(code, (byte)'X').OrderBy(_ => random.Next()).First();
                code[at + 5 + random.Next(BitConverter.ToInt32(code, at + 1))] = 0xff;
                break;
            }
            default:
            {
                var storage = random.Next(1, entries.Count - 1);
                var resized = new byte[Math.Max(0, entries[storage].Data.Length + random.Next(-8, 9))];
                return Archive(entries.Select((e, k) => k == storage ? (e.Name, resized) : e), name: "mutant.bin");
            }
        }
        return Archive([(entries[0].Name, code), .. entries.Skip(1)], name: "mutant.bin");
    }

    string Write(byte[] bytes)
    {
        var path = Path.Combine(_dir, "mutant.bin");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Offsets of <paramref name="op"/> that the disassembly shows as BINUNICODE with a short length (not data bytes).</summary>
    static List<int> Occurrences(byte[] code, byte op) =>
        Enumerable.Range(0, code.Length - 5).Where(i => code[i] == op && BitConverter.ToInt32(code, i + 1) is > 0 and < 64).ToList();
}
