using System.Buffers.Binary;
using System.Text.Json;

namespace Cluster.Runtime.Messaging;

/// <summary>A framed message as read from a stream (see <see cref="OutgoingMessage"/>). Each segment is read
/// straight into its own array, which becomes the byte[] argument: one copy from the socket, no more.</summary>
public sealed class IncomingMessage : IDisposable
{
    readonly JsonDocument _header;
    readonly byte[][] _segments;

    IncomingMessage(JsonDocument header, byte[][] segments) => (_header, _segments) = (header, segments);

    public JsonElement Header => _header.RootElement;

    /// <summary>Reads a framed message. When its header names a bulk transfer, the segments come from
    /// <paramref name="bulk"/> instead of the stream (see <see cref="BulkReceiver"/>).</summary>
    public static async Task<IncomingMessage> ReadAsync(Stream stream, long? declaredLength, long maxBytes, CancellationToken cancellation,
        Func<Guid, CancellationToken, Task<byte[][]>>? bulk = null)
    {
        if (declaredLength > maxBytes)
            throw new MessageTooLargeException($"message of {declaredLength} bytes exceeds the limit of {maxBytes} bytes");
        var prefix = new byte[4];
        await ReadExactly(stream, prefix, "the header length", cancellation).ConfigureAwait(false);
        var headerLength = BinaryPrimitives.ReadInt32LittleEndian(prefix);
        if (headerLength <= 0 || headerLength > Math.Min(maxBytes, WireFormat.MaxHeaderBytes))
            throw new MessageFormatException($"header length {headerLength} is not in 1..{Math.Min(maxBytes, WireFormat.MaxHeaderBytes)}");
        var headerBytes = new byte[headerLength];
        await ReadExactly(stream, headerBytes, "the JSON header", cancellation).ConfigureAwait(false);

        JsonDocument header;
        try { header = JsonDocument.Parse(headerBytes); }
        catch (JsonException e) { throw new MessageFormatException($"header is not JSON: {e.Message}", e); }
        try
        {
            if (header.RootElement.ValueKind != JsonValueKind.Object
                || !header.RootElement.TryGetProperty("seg", out var seg) || seg.ValueKind != JsonValueKind.Array)
                throw new MessageFormatException("header must be a JSON object with a \"seg\" array of segment lengths");
            long total = 4 + headerLength;
            if (header.RootElement.TryGetProperty("bulk", out var bulkId))
            {
                if (bulk is null || !Guid.TryParseExact(bulkId.GetString(), "N", out var id))
                    throw new MessageFormatException("header names a bulk transfer, which only silo-to-silo calls may use");
                if (declaredLength is long bodyLength && bodyLength != total)
                    throw new MessageFormatException($"body is {bodyLength} bytes but a bulk call's frame is its {total}-byte header");
                var received = await bulk(id, cancellation).ConfigureAwait(false);
                var expected = seg.EnumerateArray().Select(l => l.TryGetInt64(out var n) ? n : -1).ToArray();
                if (!expected.SequenceEqual(received.Select(r => (long)r.Length)))
                    throw new MessageFormatException($"bulk transfer {id:N} carried segments of [{string.Join(",", received.Select(r => r.Length))}] bytes, the header says [{string.Join(",", expected)}]");
                return new IncomingMessage(header, received);
            }
            var segments = new byte[seg.GetArrayLength()][];
            var i = 0;
            foreach (var length in seg.EnumerateArray())
            {
                if (!length.TryGetInt32(out var n) || n < 0)
                    throw new MessageFormatException($"segment length {length} is not a non-negative int32");
                total += n;
                if (total > maxBytes)
                    throw new MessageTooLargeException($"message of at least {total} bytes exceeds the limit of {maxBytes} bytes");
                segments[i] = GC.AllocateUninitializedArray<byte>(n); // every byte is read into it next
                await ReadExactly(stream, segments[i], $"segment {i}", cancellation).ConfigureAwait(false);
                i++;
            }
            if (declaredLength is long declared && declared != total)
                throw new MessageFormatException($"body is {declared} bytes but its frame describes {total}");
            return new IncomingMessage(header, segments);
        }
        catch
        {
            header.Dispose();
            throw;
        }
    }

    static async Task ReadExactly(Stream stream, byte[] buffer, string what, CancellationToken cancellation)
    {
        try { await stream.ReadExactlyAsync(buffer, cancellation).ConfigureAwait(false); }
        catch (EndOfStreamException) { throw new MessageFormatException($"body ended inside {what}"); }
    }

    public string RequireString(string name) =>
        Header.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new MessageFormatException($"header has no string \"{name}\"");

    /// <summary>The call's arguments, typed as the method declares them.</summary>
    public object?[] ReadArguments(GrainMethod method)
    {
        if (!Header.TryGetProperty("args", out var args) || args.ValueKind != JsonValueKind.Array)
            throw new MessageFormatException("call header has no \"args\" array");
        var types = method.ParameterTypes;
        if (args.GetArrayLength() != types.Length)
            throw new MessageFormatException($"{method.Interface.Name}.{method.Name} takes {types.Length} arguments, the call has {args.GetArrayLength()}");
        var values = new object?[types.Length];
        using var scope = ClusterJson.SegmentScope.ForReading(_segments);
        var i = 0;
        foreach (var arg in args.EnumerateArray())
        {
            try { values[i] = arg.Deserialize(types[i], ClusterJson.Options); }
            catch (JsonException e) { throw new MessageFormatException($"argument {i} of {method.Name} is not a {types[i].Name}: {e.Message}", e); }
            i++;
        }
        return values;
    }

    public object? ReadResult(GrainMethod method)
    {
        if (method.ResultType is null) return null;
        if (!Header.TryGetProperty("result", out var result))
            throw new MessageFormatException("response header has no \"result\"");
        using var scope = ClusterJson.SegmentScope.ForReading(_segments);
        return result.Deserialize(method.ResultType, ClusterJson.Options);
    }

    public void Dispose() => _header.Dispose();
}

public static class WireFormat
{
    public const string ContentType = "application/x-cluster-call";
    public const string SecretHeader = "x-cluster-secret";
    /// <summary>On a silo-to-silo call: "host:port" of the caller's bulk receiver, for large results.</summary>
    public const string ReplyBulkHeader = "x-cluster-reply-bulk";
    public const int MaxHeaderBytes = 64 << 20;
}
