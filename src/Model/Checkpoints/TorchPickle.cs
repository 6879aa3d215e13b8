using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Cluster.Model.Configuration;
using Cluster.Torch;

namespace Cluster.Model.Checkpoints;

/// <summary>
/// Reads checkpoints written by torch.save (the zip layout: &lt;prefix&gt;/data.pkl plus one raw,
/// little-endian storage per &lt;prefix&gt;/data/&lt;key&gt;). The pickle is interpreted by a small
/// machine that knows plain containers, numbers and strings, and only the torch functions that
/// rebuild tensors: any other global is refused, so a checkpoint cannot run code.
/// </summary>
public static class TorchPickle
{
    private static readonly Dictionary<string, ScalarType> Storages = new()
    {
        ["FloatStorage"] = ScalarType.Float32, ["DoubleStorage"] = ScalarType.Float64, ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16, ["LongStorage"] = ScalarType.Int64, ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16, ["CharStorage"] = ScalarType.Int8, ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    private sealed record Global(string Module, string Name);

    private sealed record StorageType(ScalarType DType);

    private sealed class Mark;

    private static readonly Mark TheMark = new();

    /// <summary>The state dict in the file: every tensor by name, in file order, owned by the caller's DisposeScope.</summary>
    public static OrderedDictionary<string, Tensor> Load(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: no such file");
        using (var probe = File.OpenRead(path))
        {
            Span<byte> magic = stackalloc byte[4];
            if (probe.Read(magic) < 4 || magic[0] != 'P' || magic[1] != 'K')
                throw new CheckpointException($"{path}: not a zip archive; the legacy (PyTorch < 1.6) torch.save format is not supported, " +
                                             "re-save it with a current torch.save or convert it to safetensors");
        }
        ZipArchive zip;
        try { zip = ZipFile.OpenRead(path); }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException) { throw Damaged(path, e); }
        // The central directory is read lazily, so damage can surface at any entry lookup.
        using (zip)
            try
            {
                foreach (var entry in zip.Entries) CheckEntryName(entry, path);
                var pickle = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl")
                    ?? throw new CheckpointException($"{path}: no data.pkl inside: not a torch.save checkpoint");
                string prefix = pickle.FullName[..^"data.pkl".Length];
                var byteorder = zip.GetEntry(prefix + "byteorder");
                if (byteorder != null && Encoding.ASCII.GetString(ReadEntry(byteorder, 16, path)).Trim() != "little")
                    throw new CheckpointException($"{path}: big-endian checkpoints are not supported");
                var bytes = ReadEntry(pickle, MaxPickleBytes, path);
                var machine = new Machine(bytes, path, (key, dtype, numel) => ReadStorage(zip, prefix, key, dtype, numel, path));
                var root = machine.Run();
                if (root is not OrderedDictionary<object, object?> dict)
                    throw new CheckpointException($"{path}: holds a {Describe(root)}, not a state dict");
                var result = new OrderedDictionary<string, Tensor>();
                foreach (var (k, v) in dict)
                {
                    if (k is not string name) throw new CheckpointException($"{path}: a state-dict key is a {Describe(k)}, not a string");
                    result[name] = v as Tensor ?? throw new CheckpointException($"{path}: '{name}' is a {Describe(v)}, not a tensor");
                }
                return result;
            }
            catch (Exception e) when (e is InvalidDataException or IOException) { throw Damaged(path, e); }
    }

    private static CheckpointException Damaged(string path, Exception e) => new($"{path}: damaged zip archive ({e.Message})");

    /// <summary>torch.save's data.pkl is kilobytes even for large models; this bounds what the machine below may build.</summary>
    public const int MaxPickleBytes = 64 << 20;

    /// <summary>The most objects a pickle may create: a state dict needs about fifteen per tensor.</summary>
    public const int MaxPickleObjects = 1 << 20;

    /// <summary>A compressed entry that inflates more than this many times over is treated as a decompression bomb.</summary>
    public const int MaxCompressionRatio = 100;

    /// <summary>Names are only looked up, never extracted, but a name that could escape a directory marks a crafted archive.</summary>
    private static void CheckEntryName(ZipArchiveEntry entry, string path)
    {
        var name = entry.FullName;
        if (name.StartsWith('/') || name.StartsWith('\\') || (name.Length > 1 && name[1] == ':') ||
            name.Split('/', '\\').Contains(".."))
            throw new CheckpointException($"{path}: zip entry '{name}' is an absolute path or climbs out with '..'");
    }

    /// <summary>
    /// The entry's bytes, refused from the central directory's sizes before anything is inflated: above
    /// <paramref name="limit"/>, or compressed beyond <see cref="MaxCompressionRatio"/>. The read stops at the declared
    /// size, so an entry that inflates past what it declares is refused too.
    /// </summary>
    private static byte[] ReadEntry(ZipArchiveEntry entry, long limit, string path)
    {
        CheckSize(entry, limit, path);
        var data = new byte[entry.Length];
        ReadExactly(entry, data, path);
        return data;
    }

    private static void CheckSize(ZipArchiveEntry entry, long limit, string path)
    {
        if (entry.Length > limit)
            throw new CheckpointException($"{path}: zip entry '{entry.FullName}' declares {entry.Length} bytes, more than the {limit} allowed");
        if (entry.Length > 1 << 20 && entry.Length / Math.Max(1, entry.CompressedLength) > MaxCompressionRatio)
            throw new CheckpointException($"{path}: zip entry '{entry.FullName}' would inflate {entry.CompressedLength} bytes to {entry.Length} " +
                                         $"(over {MaxCompressionRatio}x): refused as a decompression bomb");
    }

    private static void ReadExactly(ZipArchiveEntry entry, Span<byte> into, string path)
    {
        try
        {
            using var s = entry.Open();
            s.ReadExactly(into);
            Span<byte> more = stackalloc byte[1];
            if (s.Read(more) != 0)
                throw new CheckpointException($"{path}: zip entry '{entry.FullName}' inflates past the {entry.Length} bytes it declares");
        }
        catch (EndOfStreamException) { throw new CheckpointException($"{path}: zip entry '{entry.FullName}' is truncated"); }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException)
        {
            throw new CheckpointException($"{path}: zip entry '{entry.FullName}' is damaged ({e.Message})");
        }
    }

    /// <summary>Storage <paramref name="key"/> read straight into a tensor, once its entry's size agrees with the pickle.</summary>
    private static Tensor ReadStorage(ZipArchive zip, string prefix, string key, ScalarType dtype, long? numel, string path)
    {
        var entry = zip.GetEntry(prefix + "data/" + key) ?? throw new CheckpointException($"{path}: storage '{key}' is missing from the archive");
        int size = dtype.ElementSize();
        if (entry.Length % size != 0)
            throw new CheckpointException($"{path}: storage '{key}' has {entry.Length} bytes, not a whole number of {dtype} elements");
        long elements = entry.Length / size;
        if (numel is { } declared && declared != elements)
            throw new CheckpointException($"{path}: storage '{key}' holds {elements} {dtype} elements but the pickle says {declared}");
        CheckSize(entry, Math.Min(int.MaxValue, PretrainedConfig.ModelBytesLimit), path);
        var tensor = torch.empty([elements], dtype);
        try { ReadExactly(entry, tensor.bytes(), path); }
        catch { tensor.Dispose(); throw; }
        return tensor;
    }

    private static string Describe(object? v) => v switch
    {
        null => "None",
        OrderedDictionary<object, object?> => "dict",
        List<object?> => "list",
        object?[] => "tuple",
        _ => v.GetType().Name,
    };

    /// <summary>The pickle virtual machine, protocol 2 to 4, restricted as the class comment says. Every length and
    /// integer is checked against what remains and against 64 bits; every failure names the opcode's byte offset.</summary>
    private sealed class Machine(byte[] code, string path, Func<string, ScalarType, long?, Tensor> readStorage)
    {
        private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

        private readonly List<object?> stack = new();
        private readonly Dictionary<long, object?> memo = new();
        private readonly Dictionary<string, Tensor> storages = new();
        private int pc, op, created;

        private CheckpointException Bad(string what) => new($"{path}: data.pkl byte {op}: {what}");

        private void Push(object? v)
        {
            if (++created > MaxPickleObjects) throw Bad($"the pickle creates more than {MaxPickleObjects} objects");
            stack.Add(v);
        }

        private object? Top() => stack.Count > 0 ? stack[^1] : throw Bad("stack underflow");

        private object? Pop()
        {
            var v = Top();
            stack.RemoveAt(stack.Count - 1);
            return v;
        }

        private List<object?> PopToMark()
        {
            int i = stack.FindLastIndex(v => ReferenceEquals(v, TheMark));
            if (i < 0) throw Bad("no MARK");
            var items = stack.GetRange(i + 1, stack.Count - i - 1);
            stack.RemoveRange(i, stack.Count - i);
            return items;
        }

        private ReadOnlySpan<byte> Take(long n)
        {
            if (n < 0 || n > code.Length - pc)
                throw Bad($"a length of {n} runs past the end of the pickle ({code.Length - pc} bytes left)");
            var s = code.AsSpan(pc, (int)n);
            pc += (int)n;
            return s;
        }

        private string Line()
        {
            int end = Array.IndexOf(code, (byte)'\n', pc);
            if (end < 0) throw Bad("an unterminated line: truncated pickle");
            var s = Encoding.ASCII.GetString(code, pc, end - pc);
            pc = end + 1;
            return s;
        }

        private string Utf8(ReadOnlySpan<byte> bytes)
        {
            try { return StrictUtf8.GetString(bytes); }
            catch (DecoderFallbackException) { throw Bad("a string that is not valid UTF-8"); }
        }

        private long Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public object? Run()
        {
            while (true)
            {
                if (pc >= code.Length) throw Bad("no STOP: truncated pickle");
                op = pc;
                switch (code[pc++])
                {
                    case 0x80: Take(1); break;                                              // PROTO
                    case 0x95: Take(8); break;                                              // FRAME
                    case (byte)'.': return Pop();                                           // STOP
                    case (byte)'(': Push(TheMark); break;                                   // MARK
                    case (byte)'}': Push(new OrderedDictionary<object, object?>()); break;
                    case (byte)']': Push(new List<object?>()); break;
                    case (byte)')': Push(Array.Empty<object?>()); break;
                    case (byte)'t': Push(PopToMark().ToArray()); break;
                    case 0x85: Push(new[] { Pop() }); break;
                    case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; }
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; }
                    case (byte)'N': Push(null); break;
                    case 0x88: Push(true); break;
                    case 0x89: Push(false); break;
                    case (byte)'J': Push(Int32()); break;
                    case (byte)'K': Push((long)Take(1)[0]); break;
                    case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                    case 0x8a: Push(Long(Take(Take(1)[0]))); break;                         // LONG1
                    case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;
                    case (byte)'X': Push(Utf8(Take(Int32()))); break;
                    case 0x8c: Push(Utf8(Take(Take(1)[0]))); break;
                    case 0x8d: Push(Utf8(Take(BinaryPrimitives.ReadInt64LittleEndian(Take(8))))); break;
                    case (byte)'T': Push(Encoding.Latin1.GetString(Take(Int32()))); break;
                    case (byte)'U': Push(Encoding.Latin1.GetString(Take(Take(1)[0]))); break;
                    case (byte)'B': Push(Take(Int32()).ToArray()); break;
                    case (byte)'C': Push(Take(Take(1)[0]).ToArray()); break;
                    case (byte)'q': memo[Take(1)[0]] = Top(); break;                        // BINPUT
                    case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Top(); break;
                    case 0x94: memo[memo.Count] = Top(); break;                             // MEMOIZE
                    case (byte)'h': Push(Memo(Take(1)[0])); break;                          // BINGET
                    case (byte)'j': Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;
                    case (byte)'a': { var v = Pop(); AsList(Top()).Add(v); break; }
                    case (byte)'e': { var items = PopToMark(); AsList(Top()).AddRange(items); break; }
                    case (byte)'s': { var v = Pop(); var k = Pop(); AsDict(Top())[Key(k)] = v; break; }
                    case (byte)'u':
                    {
                        var items = PopToMark();
                        var d = AsDict(Top());
                        for (int i = 0; i + 1 < items.Count; i += 2) d[Key(items[i])] = items[i + 1];
                        break;
                    }
                    case (byte)'c': Push(Allow(Line(), Line())); break;                     // GLOBAL
                    case 0x93: { var name = Pop() as string; var module = Pop() as string; Push(Allow(module ?? "?", name ?? "?")); break; }
                    case (byte)'Q': Push(Persistent(Pop())); break;                         // BINPERSID
                    case (byte)'R': { var args = Pop() as object?[] ?? throw Bad("REDUCE without a tuple"); Push(Call(Pop(), args)); break; }
                    case (byte)'b': Build(Pop(), Top()); break;                             // BUILD
                    default: throw Bad($"opcode 0x{code[op]:x2} is not allowed in a checkpoint");
                }
            }
        }

        private object? Memo(long i) => memo.TryGetValue(i, out var v) ? v : throw Bad($"memo entry {i} is not defined");

        private long Long(ReadOnlySpan<byte> le)
        {
            if (le.Length == 0) return 0L;
            if (le.Length > 8) throw Bad($"a {le.Length}-byte integer, wider than 64 bits");
            long v = (le[^1] & 0x80) != 0 ? -1L : 0L;
            for (int i = le.Length - 1; i >= 0; i--) v = (v << 8) | le[i];
            return v;
        }

        private object Key(object? k) => k ?? throw Bad("None as a dict key");

        private List<object?> AsList(object? v) => v as List<object?> ?? throw Bad("APPEND to something that is not a list");

        private OrderedDictionary<object, object?> AsDict(object? v) => v as OrderedDictionary<object, object?> ?? throw Bad("SETITEM on something that is not a dict");

        private object Allow(string module, string name)
        {
            if (module == "torch" && Storages.TryGetValue(name, out var dtype)) return new StorageType(dtype);
            if ((module, name) is ("collections", "OrderedDict") or ("torch._utils", "_rebuild_tensor_v2") or ("torch._utils", "_rebuild_parameter"))
                return new Global(module, name);
            throw Bad($"refusing global {module}.{name}: a checkpoint may hold only tensors and plain containers");
        }

        /// <summary>('storage', storage type, key, location, numel): the raw storage, read once per key.</summary>
        private Tensor Persistent(object? pid)
        {
            if (pid is not object?[] { Length: >= 5 } t || t[0] as string != "storage" || t[1] is not StorageType type || t[2] is not string key)
                throw Bad("a persistent id that is not a tensor storage");
            if (t[4] is not (long or null)) throw Bad($"storage '{key}' declares its size as a {Describe(t[4])}");
            if (storages.TryGetValue(key, out var s)) return s;
            try { s = readStorage(key, type.DType, t[4] as long?); }
            catch (CheckpointException e) { throw new CheckpointException($"{e.Message} (persistent id at data.pkl byte {op})"); }
            storages[key] = s;
            return s;
        }

        private object? Call(object? callable, object?[] args)
        {
            switch (callable)
            {
                case Global { Name: "OrderedDict" }:
                    if (args.Length != 0) throw Bad("OrderedDict with arguments");
                    return new OrderedDictionary<object, object?>();
                case Global { Name: "_rebuild_tensor_v2" }:
                {
                    if (args.Length < 4 || args[0] is not Tensor storage || args[1] is not long offset ||
                        args[2] is not object?[] size || args[3] is not object?[] stride || size.Length != stride.Length)
                        throw Bad("malformed _rebuild_tensor_v2 arguments");
                    var sz = size.Select(v => v as long? ?? throw Bad("a non-integer size")).ToArray();
                    var st = stride.Select(v => v as long? ?? throw Bad("a non-integer stride")).ToArray();
                    if (offset < 0 || sz.Any(n => n < 0) || st.Any(n => n < 0)) throw Bad("a negative tensor offset, size or stride");
                    // A view may repeat its storage (stride 0), but loading it into a model materialises every element.
                    long bytes = storage.dtype.ElementSize();
                    foreach (var n in sz)
                        if (n != 0 && bytes > PretrainedConfig.ModelBytesLimit / n)
                            throw Bad($"a tensor of size [{string.Join(", ", sz)}], more than the memory this process may use");
                        else bytes *= n;
                    try { return storage.as_strided(sz, st, offset); }
                    catch (TorchException e) { throw Bad($"tensor view outside its storage ({e.Message})"); }
                }
                case Global { Name: "_rebuild_parameter" }:
                    return args.Length >= 1 && args[0] is Tensor t ? t : throw Bad("malformed _rebuild_parameter arguments");
                default:
                    throw Bad($"cannot call a {Describe(callable)}");
            }
        }

        /// <summary>BUILD sets instance state; the only state torch.save writes here is an OrderedDict's _metadata, which is dropped.</summary>
        private void Build(object? state, object? target)
        {
            if (target is OrderedDictionary<object, object?> or Tensor) return;
            throw Bad($"BUILD on a {Describe(target)}");
        }
    }
}
