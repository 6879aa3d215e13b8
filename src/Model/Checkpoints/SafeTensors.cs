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
            ulong headerLength = *(ulong*)basePtr; // little-endian on every platform .NET runs libtorch on
            if (headerLength > (ulong)file.Length - 8)
                throw new CheckpointException($"{path}: header length {headerLength} exceeds the file ({file.Length} bytes): truncated or not safetensors");
            long dataStart = 8 + (long)headerLength;
            long dataLength = file.Length - dataStart;
            var header = ParseHeader(new ReadOnlySpan<byte>(basePtr + 8, (int)headerLength), path);

            var result = new OrderedDictionary<string, Tensor>();
            foreach (var (name, entry) in header)
            {
                if (name == "__metadata__") continue;
                var (type, shape, begin, end) = Describe(entry, name, path);
                long expected = shape.Aggregate(1L, (a, b) => a * b) * type.ElementSize();
                if (end - begin != expected)
                    throw new CheckpointException($"{path}: '{name}' holds {end - begin} bytes but {type} [{string.Join(", ", shape)}] needs {expected}");
                if (begin < 0 || end > dataLength)
                    throw new CheckpointException($"{path}: '{name}' lies outside the data ({begin}..{end} of {dataLength} bytes): truncated file");
                var bytes = new ReadOnlySpan<byte>(basePtr + dataStart + begin, (int)expected);
                result[name] = Materialize(bytes, type, shape, device, dtype);
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
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        var length = BitConverter.ToUInt64(lengthBytes);
        if (length > (ulong)stream.Length - 8) throw new CheckpointException($"{path}: truncated header");
        var headerBytes = new byte[length];
        stream.ReadExactly(headerBytes);
        var header = ParseHeader(headerBytes, path);
        return header["__metadata__"] is JsonObject meta
            ? meta.ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>() ?? "")
            : new Dictionary<string, string>();
    }

    private static JsonObject ParseHeader(ReadOnlySpan<byte> bytes, string path)
    {
        try
        {
            return JsonNode.Parse(bytes) as JsonObject ?? throw new CheckpointException($"{path}: the header is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: the header is not valid JSON ({e.Message})");
        }
    }

    private static (ScalarType type, long[] shape, long begin, long end) Describe(JsonNode? entry, string name, string path)
    {
        try
        {
            var dtypeName = entry!["dtype"]!.GetValue<string>();
            if (!DTypes.TryGetValue(dtypeName, out var type))
                throw new CheckpointException($"{path}: '{name}' has dtype {dtypeName}, which is not supported");
            var shape = entry["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            var offsets = entry["data_offsets"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            if (offsets.Length != 2 || offsets[1] < offsets[0]) throw new CheckpointException($"{path}: '{name}' has bad data_offsets");
            return (type, shape, offsets[0], offsets[1]);
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException)
        {
            throw new CheckpointException($"{path}: '{name}' lacks a valid dtype, shape or data_offsets");
        }
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
