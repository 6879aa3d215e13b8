using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
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
        catch (InvalidDataException e) { throw new CheckpointException($"{path}: damaged zip archive ({e.Message})"); }
        using (zip)
        {
            var pickle = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl")
                ?? throw new CheckpointException($"{path}: no data.pkl inside: not a torch.save checkpoint");
            string prefix = pickle.FullName[..^"data.pkl".Length];
            var byteorder = zip.GetEntry(prefix + "byteorder");
            if (byteorder != null)
            {
                using var r = new StreamReader(byteorder.Open());
                if (r.ReadToEnd().Trim() != "little") throw new CheckpointException($"{path}: big-endian checkpoints are not supported");
            }
            byte[] bytes;
            using (var s = pickle.Open())
            using (var m = new MemoryStream())
            {
                s.CopyTo(m);
                bytes = m.ToArray();
            }
            var machine = new Machine(bytes, path, key => ReadStorage(zip, prefix, key, path));
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
    }

    private static byte[] ReadStorage(ZipArchive zip, string prefix, string key, string path)
    {
        var entry = zip.GetEntry(prefix + "data/" + key) ?? throw new CheckpointException($"{path}: storage '{key}' is missing from the archive");
        var data = new byte[entry.Length];
        using var s = entry.Open();
        try { s.ReadExactly(data); }
        catch (EndOfStreamException) { throw new CheckpointException($"{path}: storage '{key}' is truncated"); }
        return data;
    }

    private static string Describe(object? v) => v switch
    {
        null => "None",
        OrderedDictionary<object, object?> => "dict",
        List<object?> => "list",
        object?[] => "tuple",
        _ => v.GetType().Name,
    };

    /// <summary>The pickle virtual machine, protocol 2 to 4, restricted as the class comment says.</summary>
    private sealed class Machine(byte[] code, string path, Func<string, byte[]> storageBytes)
    {
        private readonly List<object?> stack = new();
        private readonly Dictionary<long, object?> memo = new();
        private readonly Dictionary<string, Tensor> storages = new();
        private int pc;

        private CheckpointException Bad(string what) => new($"{path}: data.pkl byte {pc}: {what}");

        private object? Pop()
        {
            if (stack.Count == 0) throw Bad("stack underflow");
            var v = stack[^1];
            stack.RemoveAt(stack.Count - 1);
            return v;
        }

        private List<object?> PopToMark()
        {
            int i = stack.FindLastIndex(v => v is Mark);
            if (i < 0) throw Bad("no MARK");
            var items = stack.GetRange(i + 1, stack.Count - i - 1);
            stack.RemoveRange(i, stack.Count - i);
            return items;
        }

        private ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || pc + n > code.Length) throw Bad("truncated pickle");
            var s = code.AsSpan(pc, n);
            pc += n;
            return s;
        }

        private string Line()
        {
            int end = Array.IndexOf(code, (byte)'\n', pc);
            if (end < 0) throw Bad("truncated pickle");
            var s = Encoding.ASCII.GetString(code, pc, end - pc);
            pc = end + 1;
            return s;
        }

        public object? Run()
        {
            while (true)
            {
                if (pc >= code.Length) throw Bad("no STOP: truncated pickle");
                byte op = code[pc++];
                switch (op)
                {
                    case 0x80: Take(1); break;                                              // PROTO
                    case 0x95: Take(8); break;                                              // FRAME
                    case (byte)'.': return Pop();                                           // STOP
                    case (byte)'(': stack.Add(new Mark()); break;                           // MARK
                    case (byte)'}': stack.Add(new OrderedDictionary<object, object?>()); break;
                    case (byte)']': stack.Add(new List<object?>()); break;
                    case (byte)')': stack.Add(Array.Empty<object?>()); break;
                    case (byte)'t': stack.Add(PopToMark().ToArray()); break;
                    case 0x85: stack.Add(new[] { Pop() }); break;
                    case 0x86: { var b = Pop(); var a = Pop(); stack.Add(new[] { a, b }); break; }
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); stack.Add(new[] { a, b, c }); break; }
                    case (byte)'N': stack.Add(null); break;
                    case 0x88: stack.Add(true); break;
                    case 0x89: stack.Add(false); break;
                    case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                    case (byte)'K': stack.Add((long)Take(1)[0]); break;
                    case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                    case 0x8a: stack.Add(Long(Take(Take(1)[0]))); break;                    // LONG1
                    case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;
                    case (byte)'X': stack.Add(Encoding.UTF8.GetString(Take(BinaryPrimitives.ReadInt32LittleEndian(Take(4))))); break;
                    case 0x8c: stack.Add(Encoding.UTF8.GetString(Take(Take(1)[0]))); break;
                    case 0x8d: stack.Add(Encoding.UTF8.GetString(Take(checked((int)BinaryPrimitives.ReadInt64LittleEndian(Take(8)))))); break;
                    case (byte)'T': stack.Add(Encoding.Latin1.GetString(Take(BinaryPrimitives.ReadInt32LittleEndian(Take(4))))); break;
                    case (byte)'U': stack.Add(Encoding.Latin1.GetString(Take(Take(1)[0]))); break;
                    case (byte)'B': stack.Add(Take(BinaryPrimitives.ReadInt32LittleEndian(Take(4))).ToArray()); break;
                    case (byte)'C': stack.Add(Take(Take(1)[0]).ToArray()); break;
                    case (byte)'q': memo[Take(1)[0]] = stack[^1]; break;                    // BINPUT
                    case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = stack[^1]; break;
                    case 0x94: memo[memo.Count] = stack[^1]; break;                         // MEMOIZE
                    case (byte)'h': stack.Add(Memo(Take(1)[0])); break;                     // BINGET
                    case (byte)'j': stack.Add(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;
                    case (byte)'a': { var v = Pop(); AsList(stack[^1]).Add(v); break; }
                    case (byte)'e': { var items = PopToMark(); AsList(stack[^1]).AddRange(items); break; }
                    case (byte)'s': { var v = Pop(); var k = Pop(); AsDict(stack[^1])[Key(k)] = v; break; }
                    case (byte)'u':
                    {
                        var items = PopToMark();
                        var d = AsDict(stack[^1]);
                        for (int i = 0; i + 1 < items.Count; i += 2) d[Key(items[i])] = items[i + 1];
                        break;
                    }
                    case (byte)'c': stack.Add(Allow(Line(), Line())); break;                // GLOBAL
                    case 0x93: { var name = Pop() as string; var module = Pop() as string; stack.Add(Allow(module ?? "?", name ?? "?")); break; }
                    case (byte)'Q': stack.Add(Persistent(Pop())); break;                    // BINPERSID
                    case (byte)'R': { var args = Pop() as object?[] ?? throw Bad("REDUCE without a tuple"); stack.Add(Call(Pop(), args)); break; }
                    case (byte)'b': Build(Pop(), stack[^1]); break;                         // BUILD
                    default: throw Bad($"opcode 0x{op:x2} is not allowed in a checkpoint");
                }
            }
        }

        private object? Memo(long i) => memo.TryGetValue(i, out var v) ? v : throw Bad($"memo entry {i} is not defined");

        private static object Long(ReadOnlySpan<byte> le)
        {
            if (le.Length == 0) return 0L;
            if (le.Length > 8) throw new OverflowException("integer wider than 64 bits");
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
            if (storages.TryGetValue(key, out var s)) return s;
            var bytes = storageBytes(key);
            long numel = bytes.Length / type.DType.ElementSize();
            if (t[4] is long declared && declared != numel)
                throw Bad($"storage '{key}' holds {numel} elements but the pickle says {declared}");
            s = torch.empty([numel], type.DType);
            bytes.CopyTo(s.bytes());
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
                        args[2] is not object?[] size || args[3] is not object?[] stride)
                        throw Bad("malformed _rebuild_tensor_v2 arguments");
                    var sz = size.Select(v => v as long? ?? throw Bad("a non-integer size")).ToArray();
                    var st = stride.Select(v => v as long? ?? throw Bad("a non-integer stride")).ToArray();
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
