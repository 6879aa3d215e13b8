using System.IO.MemoryMappedFiles;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Torch;

namespace Cluster.Model.Checkpoints;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping each name
/// to {dtype, shape, data_offsets} (offsets into the data that follows), then the raw bytes.
/// Reading maps the file and copies each tensor once, straight into libtorch memory.
/// </summary>
public static class SafeTensors
{
    private static readonly Dictionary<string, ScalarType> DTypes = new()
    {
        ["F64"] = ScalarType.Float64, ["F32"] = ScalarType.Float32, ["F16"] = ScalarType.Float16,
        ["BF16"] = ScalarType.BFloat16, ["I64"] = ScalarType.Int64, ["I32"] = ScalarType.Int32,
        ["I16"] = ScalarType.Int16, ["I8"] = ScalarType.Int8, ["U8"] = ScalarType.Byte, ["BOOL"] = ScalarType.Bool,
    };

    private static string NameOf(ScalarType t) => DTypes.First(kv => kv.Value == t).Key;

    /// <summary>
    /// Every tensor in the file, in file order, on <paramref name="device"/>; floating-point tensors are
    /// converted to <paramref name="dtype"/> when given. The tensors belong to the caller's DisposeScope.
    /// </summary>
    public static unsafe OrderedDictionary<string, Tensor> Load(string path, Device? device = null, ScalarType? dtype = null)
    {
        var file = new FileInfo(path);
        if (!file.Exists) throw new CheckpointException($"{path}: no such file");
        if (file.Length < 8) throw new CheckpointException($"{path}: truncated ({file.Length} bytes, not even a header length)");
        using var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = map.CreateViewAccessor(0, file.Length, MemoryMappedFileAccess.Read);
        byte* basePtr = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
        try
        {
            basePtr += view.PointerOffset;
            var (entries, dataStart) = ReadHeader(new ReadOnlySpan<byte>(basePtr, (int)Math.Min(file.Length, int.MaxValue)), file.Length, path);
            var result = new OrderedDictionary<string, Tensor>();
            try
            {
                foreach (var e in entries)
                    result[e.Name] = Materialize(new ReadOnlySpan<byte>(basePtr + dataStart + e.Begin, (int)(e.End - e.Begin)), e.Type, e.Shape, device, dtype);
            }
            catch
            {
                foreach (var t in result.Values) t.Dispose();
                throw;
            }
            return result;
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
    }

    /// <summary>The __metadata__ strings of a file (e.g. {"format": "pt"}).</summary>
    public static Dictionary<string, string> Metadata(string path)
    {
        using var stream = File.OpenRead(path);
        if (stream.Length < 8) throw new CheckpointException($"{path}: truncated ({stream.Length} bytes, not even a header length)");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        var length = HeaderLength(BitConverter.ToUInt64(lengthBytes), stream.Length, path);
        var bytes = new byte[8 + length];
        lengthBytes.CopyTo(bytes);
        stream.ReadExactly(bytes.AsSpan(8));
        using var header = ParseHeader(bytes.AsSpan(8), path);
        return MetadataOf(header.RootElement, path);
    }

    /// <summary>The largest header the reference implementation reads (safetensors' MAX_HEADER_SIZE).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    sealed record Entry(string Name, ScalarType Type, long[] Shape, long Begin, long End);

    /// <summary>Checks the whole header as the safetensors library does before any tensor byte is touched: its length
    /// within the file and 100 MB, UTF-8 JSON with unique names, known dtypes, each tensor's bytes equal to dtype size
    /// × shape (64-bit, overflow checked), and the offsets covering the data region exactly, without gaps or overlaps.
    /// Returns the tensors in file order and where the data starts.</summary>
    static (List<Entry> entries, long dataStart) ReadHeader(ReadOnlySpan<byte> file, long fileLength, string path)
    {
        var length = HeaderLength(BitConverter.ToUInt64(file[..8]), fileLength, path);
        using var header = ParseHeader(file.Slice(8, (int)length), path);
        var entries = new List<Entry>();
        foreach (var property in header.RootElement.EnumerateObject())
        {
            if (property.Name == "__metadata__")
            {
                MetadataOf(header.RootElement, path);
                continue;
            }
            entries.Add(Describe(property.Value, property.Name, path));
        }
        long dataStart = 8 + length, dataLength = fileLength - dataStart, at = 0;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.Begin != at)
                throw new CheckpointException(e.Begin < at
                    ? $"{path}: '{e.Name}' overlaps the tensor before it (its data starts at byte {e.Begin}, before {at})"
                    : $"{path}: the data has a gap before '{e.Name}' (bytes {at}..{e.Begin} belong to no tensor)");
            if (e.End > dataLength)
                throw new CheckpointException($"{path}: '{e.Name}' lies outside the data ({e.Begin}..{e.End} of {dataLength} bytes): truncated file");
            at = e.End;
        }
        if (at != dataLength) throw new CheckpointException($"{path}: {dataLength - at} bytes after the last tensor belong to no tensor");
        return (entries, dataStart);
    }

    static long HeaderLength(ulong length, long fileLength, string path)
    {
        if (length > (ulong)fileLength - 8)
            throw new CheckpointException($"{path}: header length {length} exceeds the file ({fileLength} bytes): truncated or not safetensors");
        if (length > MaxHeaderBytes) throw new CheckpointException($"{path}: header length {length} is over the {MaxHeaderBytes}-byte limit");
        if (length < 2) throw new CheckpointException($"{path}: header length {length} cannot hold a JSON object");
        return (long)length;
    }

    static JsonDocument ParseHeader(ReadOnlySpan<byte> bytes, string path)
    {
        if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw new CheckpointException($"{path}: the header is not valid UTF-8");
        JsonDocument document;
        try
        {
            // Strict UTF-8 (the reader refuses invalid sequences) and no duplicate names.
            document = JsonDocument.Parse(bytes.ToArray(), new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: the header is not valid JSON ({e.Message.Split(". ")[0]})");
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new CheckpointException($"{path}: the header is not a JSON object");
        }
        return document;
    }

    static Dictionary<string, string> MetadataOf(JsonElement header, string path)
    {
        if (!header.TryGetProperty("__metadata__", out var meta) || meta.ValueKind == JsonValueKind.Null) return [];
        if (meta.ValueKind != JsonValueKind.Object || meta.EnumerateObject().Any(p => p.Value.ValueKind != JsonValueKind.String))
            throw new CheckpointException($"{path}: __metadata__ must be an object of strings");
        return meta.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
    }

    static Entry Describe(JsonElement entry, string name, string path)
    {
        string Where(string field) => $"{path}: '{name}'.{field}";
        if (entry.ValueKind != JsonValueKind.Object) throw new CheckpointException($"{path}: '{name}' must be an object with dtype, shape and data_offsets");
        if (!entry.TryGetProperty("dtype", out var d) || d.ValueKind != JsonValueKind.String)
            throw new CheckpointException($"{Where("dtype")}: missing or not a string");
        if (!DTypes.TryGetValue(d.GetString()!, out var type))
            throw new CheckpointException($"{Where("dtype")}: {d.GetString()} is not a known dtype ({string.Join(", ", DTypes.Keys)})");
        var shape = Integers(entry, "shape", Where("shape"));
        var offsets = Integers(entry, "data_offsets", Where("data_offsets"));
        if (offsets.Length != 2 || offsets[1] < offsets[0])
            throw new CheckpointException($"{Where("data_offsets")}: expected [begin, end] with begin ≤ end");
        long bytes = type.ElementSize();
        try
        {
            foreach (var dim in shape) bytes = checked(bytes * dim);
        }
        catch (OverflowException) { throw new CheckpointException($"{Where("shape")}: [{string.Join(", ", shape)}] overflows 64 bits of bytes"); }
        if (offsets[1] - offsets[0] != bytes)
            throw new CheckpointException($"{path}: '{name}' holds {offsets[1] - offsets[0]} bytes but {type} [{string.Join(", ", shape)}] needs {bytes}");
        return new Entry(name, type, shape, offsets[0], offsets[1]);
    }

    /// <summary>A field that must be an array of non-negative 64-bit integers.</summary>
    static long[] Integers(JsonElement entry, string field, string where)
    {
        if (!entry.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
            throw new CheckpointException($"{where}: missing or not an array");
        var values = new long[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var v) || v < 0)
                throw new CheckpointException($"{where}[{i}]: {item.GetRawText()} is not a non-negative 64-bit integer");
            values[i++] = v;
        }
        return values;
    }

    private static Tensor Materialize(ReadOnlySpan<byte> bytes, ScalarType type, long[] shape, Device? device, ScalarType? dtype)
    {
        var t = torch.empty(shape, type);
        bytes.CopyTo(t.bytes());
        var targetType = dtype.HasValue && type.IsFloatingPoint() ? dtype.Value : type;
        var targetDevice = device ?? Device.CPU;
        if (targetType == type && targetDevice == Device.CPU) return t;
        var moved = t.to(targetType, targetDevice);
        t.Dispose();
        return moved;
    }

    /// <summary>
    /// Writes the tensors (any device or dtype the format has) to <paramref name="path"/> atomically:
    /// a reader sees the old file or the whole new one, never a part.
    /// </summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var scope = torch.NewDisposeScope();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
            header["__metadata__"] = new JsonObject(metadata.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value)));
        var blobs = new List<Tensor>();
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            if (header.ContainsKey(name)) throw new CheckpointException($"tensor name '{name}' appears twice");
            var cpu = tensor.detach().to(tensor.dtype, Device.CPU).contiguous();
            long size = cpu.numel() * cpu.dtype.ElementSize();
            header[name] = new JsonObject
            {
                ["dtype"] = NameOf(cpu.dtype),
                ["shape"] = new JsonArray(cpu.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + size),
            };
            blobs.Add(cpu);
            offset += size;
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (headerBytes.Length + 7) / 8 * 8; // keep the data 8-byte aligned, padding with spaces
        var tmp = path + ".tmp-" + Environment.ProcessId;
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            stream.Write(BitConverter.GetBytes((ulong)padded));
            stream.Write(headerBytes);
            for (int i = headerBytes.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var blob in blobs) stream.Write(blob.bytes());
            stream.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: true);
    }
}
