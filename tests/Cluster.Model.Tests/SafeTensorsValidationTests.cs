using System.Text;
using Cluster.Model.Checkpoints;
using Cluster.Torch;
using Xunit;

namespace Cluster.Model.Tests;

/// <summary>safetensors files are checked as the reference library checks them, before any tensor byte is read; a
/// seeded fuzz of a good file ends in CheckpointException or in a load that is itself a good file, within a budget.</summary>
public sealed class SafeTensorsValidationTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("cluster-safetensors-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    byte[] GoodFile()
    {
        var path = Path.Combine(_dir, "good.safetensors");
        using var scope = torch.NewDisposeScope();
        SafeTensors.Save(path, [
            new("weight", torch.arange(6).to(ScalarType.Float32).reshape(2, 3)),
            new("ids", torch.arange(4)),
            new("half", torch.ones([1, 2], ScalarType.BFloat16)),
        ], new Dictionary<string, string> { ["format"] = "pt" });
        return File.ReadAllBytes(path);
    }

    /// <summary>A file of <paramref name="header"/> (JSON) followed by <paramref name="data"/> bytes.</summary>
    string Write(string header, int data, string name = "case.safetensors")
    {
        var json = Encoding.UTF8.GetBytes(header);
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)json.Length), .. json, .. new byte[data]]);
        return path;
    }

    static string Refusal(string path)
    {
        using var scope = torch.NewDisposeScope();
        return Assert.Throws<CheckpointException>(() => SafeTensors.Load(path)).Message;
    }

    [Theory]
    [InlineData("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}""", 12, "'b' overlaps the tensor before it")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}}""", 16, "the data has a gap before 'b'")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}""", 12, "4 bytes after the last tensor belong to no tensor")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}""", 8, "'a' lies outside the data (0..16 of 8 bytes): truncated")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}""", 8, "'a' holds 8 bytes but Float32 [3] needs 12")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}}""", 8, "overflows 64 bits")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}""", 8, "'a'.shape[0]: -2 is not a non-negative 64-bit integer")]
    [InlineData("""{"a": {"dtype": "F33", "shape": [2], "data_offsets": [0, 8]}}""", 8, "'a'.dtype: F33 is not a known dtype")]
    [InlineData("""{"a": {"dtype": 3, "shape": [2], "data_offsets": [0, 8]}}""", 8, "'a'.dtype: missing or not a string")]
    [InlineData("""{"a": {"dtype": "F32", "shape": "2", "data_offsets": [0, 8]}}""", 8, "'a'.shape: missing or not an array")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}""", 8, "'a'.data_offsets: expected [begin, end]")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}""", 8, "not valid JSON")]
    [InlineData("""{"__metadata__": {"format": 1}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}""", 8, "__metadata__ must be an object of strings")]
    [InlineData("""[1, 2]""", 0, "the header is not a JSON object")]
    public void A_header_that_breaks_a_rule_is_refused_naming_it(string header, int data, string message)
    {
        Assert.Contains(message, Refusal(Write(header, data)));
    }

    [Fact]
    public void Header_lengths_past_the_file_or_too_short_are_refused()
    {
        var good = GoodFile();
        foreach (var length in new ulong[] { 0, 1, (ulong)good.Length, ulong.MaxValue })
        {
            var bytes = (byte[])good.Clone();
            BitConverter.GetBytes(length).CopyTo(bytes, 0);
            var path = Path.Combine(_dir, $"length-{length}.safetensors");
            File.WriteAllBytes(path, bytes);
            Assert.Contains("header length", Refusal(path));
        }
    }

    [Fact]
    public void Invalid_utf8_in_a_name_is_refused()
    {
        var good = GoodFile();
        var at = Encoding.ASCII.GetString(good).IndexOf("weight", StringComparison.Ordinal);
        good[at] = 0xFF;
        var path = Path.Combine(_dir, "utf8.safetensors");
        File.WriteAllBytes(path, good);
        Assert.Contains("the header is not valid UTF-8", Refusal(path));
    }

    [Fact]
    public void Seeded_mutations_end_in_a_refusal_or_a_good_load_within_budget()
    {
        var good = GoodFile();
        var random = new Random(18);
        var baseline = torch.LiveTensorCount;
        int refused = 0, loaded = 0;
        for (var i = 0; i < 400; i++)
        {
            var bytes = Mutate(good, random, i);
            var path = Path.Combine(_dir, "mutant.safetensors");
            File.WriteAllBytes(path, bytes);
            var probe = new Cluster.Testing.AllocationProbe();
            using (var scope = torch.NewDisposeScope())
            {
                try
                {
                    var tensors = SafeTensors.Load(path);
                    // A load is a good file: what it read saves and loads again as the same tensors.
                    var again = Path.Combine(_dir, "again.safetensors");
                    SafeTensors.Save(again, tensors);
                    Assert.Equal(tensors.Keys, SafeTensors.Load(again).Keys);
                    loaded++;
                }
                catch (CheckpointException) { refused++; }
                probe.Within(16 << 20, $"mutation {i}");
            }
            Assert.Equal(baseline, torch.LiveTensorCount);
        }
        Assert.True(refused > 100, $"only {refused} of 400 mutations were refused");
        Assert.True(loaded > 0, "no mutation loaded (flips inside tensor data should)");
    }

    /// <summary>Byte flips (header and data), truncation, and header length fields of 0, huge and past the file.</summary>
    static byte[] Mutate(byte[] good, Random random, int i)
    {
        var bytes = (byte[])good.Clone();
        switch (i % 5)
        {
            case 0 or 1:
                for (var n = random.Next(1, 4); n > 0; n--) bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                return bytes;
            case 2:
                return bytes[..random.Next(bytes.Length)];
            case 3:
                BitConverter.GetBytes(random.Next(4) switch { 0 => 0UL, 1 => ulong.MaxValue, 2 => (ulong)random.NextInt64(), _ => (ulong)(bytes.Length + random.Next(100)) }).CopyTo(bytes, 0);
                return bytes;
            default:
                var header = (int)BitConverter.ToUInt64(bytes, 0);
                const string JsonBytes = "{}[]\",:0123456789-eE\u00ff"; // structure, digits, and a byte that is never UTF-8
                bytes[8 + random.Next(header)] = (byte)JsonBytes[random.Next(JsonBytes.Length)];
                return bytes;
        }
    }
}
