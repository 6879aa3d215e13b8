using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Cluster.Runtime.Messaging;

/// <summary>A framed message: a little-endian int32 header length, the JSON header, then each binary
/// segment's bytes in order (their lengths are in the header's "seg" array). Segments are written
/// straight from the caller's arrays, never copied into the JSON.</summary>
public sealed class OutgoingMessage
{
    readonly byte[] _header;
    readonly List<ReadOnlyMemory<byte>> _segments;

    OutgoingMessage(byte[] header, List<ReadOnlyMemory<byte>> segments)
    {
        (_header, _segments) = (header, segments);
        Length = header.LongLength + segments.Sum(s => (long)s.Length); // header holds its length prefix
    }

    public long Length { get; }
    /// <summary>Bytes in binary segments (what would go over the bulk channel).</summary>
    public long SegmentBytes => Length - _header.LongLength;
    public IReadOnlyList<ReadOnlyMemory<byte>> Segments => _segments;

    /// <summary>The same header, marked as having its segments on bulk transfer <paramref name="id"/>, and no segments.</summary>
    public OutgoingMessage WithBulkTransfer(Guid id)
    {
        var mark = Encoding.UTF8.GetBytes($"\"bulk\":\"{id:N}\",");
        var header = new byte[_header.Length + mark.Length];
        _header.AsSpan(0, 5).CopyTo(header); // length prefix and '{'
        mark.CopyTo(header, 5);
        _header.AsSpan(5).CopyTo(header.AsSpan(5 + mark.Length));
        BinaryPrimitives.WriteInt32LittleEndian(header, header.Length - 4);
        return new OutgoingMessage(header, []);
    }

    /// <summary>A call: {"grain", "key", "method", "args": [...], "seg": [...]}.</summary>
    public static OutgoingMessage Call(GrainId grain, GrainMethod method, object?[] args)
    {
        if (args.Length != method.ParameterTypes.Length)
            throw new ArgumentException($"{method.Interface.Name}.{method.Name} takes {method.ParameterTypes.Length} arguments, got {args.Length}");
        return Build(writer =>
        {
            writer.WriteString("grain", grain.Type);
            writer.WriteString("key", grain.Key);
            writer.WriteString("method", method.Name);
            writer.WriteStartArray("args");
            for (var i = 0; i < args.Length; i++)
                JsonSerializer.Serialize(writer, args[i], method.ParameterTypes[i], ClusterJson.Options);
            writer.WriteEndArray();
        });
    }

    /// <summary>A successful result: {"result": ..., "seg": [...]}.</summary>
    public static OutgoingMessage Result(GrainMethod method, object? result) => Build(writer =>
    {
        writer.WritePropertyName("result");
        if (method.ResultType is null) writer.WriteNullValue();
        else JsonSerializer.Serialize(writer, result, method.ResultType, ClusterJson.Options);
    });

    static OutgoingMessage Build(Action<Utf8JsonWriter> body)
    {
        var segments = new List<ReadOnlyMemory<byte>>();
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.Advance(4); // room for the length prefix
        using (var writer = new Utf8JsonWriter(buffer))
        using (ClusterJson.SegmentScope.ForWriting(segments))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteStartArray("seg");
            foreach (var s in segments) writer.WriteNumberValue(s.Length);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        var framed = buffer.WrittenSpan.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(framed, framed.Length - 4);
        return new OutgoingMessage(framed, segments);
    }

    public async Task WriteToAsync(Stream stream, CancellationToken cancellation)
    {
        await stream.WriteAsync(_header, cancellation).ConfigureAwait(false);
        foreach (var segment in _segments)
            await stream.WriteAsync(segment, cancellation).ConfigureAwait(false);
    }

    public HttpContent ToContent() => new Content(this);

    sealed class Content : HttpContent
    {
        readonly OutgoingMessage _message;
        public Content(OutgoingMessage message)
        {
            _message = message;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(WireFormat.ContentType);
        }
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => _message.WriteToAsync(stream, CancellationToken.None);
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) => _message.WriteToAsync(stream, cancellationToken);
        protected override bool TryComputeLength(out long length) { length = _message.Length; return true; }
    }
}
