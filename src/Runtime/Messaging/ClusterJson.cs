using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Cluster.Runtime.Messaging;

/// <summary>The serializer settings every message uses. byte[] and ReadOnlyMemory&lt;byte&gt; anywhere in
/// a message (an argument, a record's property) travel as raw segments after the JSON, which holds
/// only their index; outside a message they fall back to base64.</summary>
public static class ClusterJson
{
    public static readonly JsonSerializerOptions Options = Create();

    static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.General)
        {
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            TypeInfoResolver = JsonTypeInfoResolver.Combine(RuntimeJsonContext.Default, new DefaultJsonTypeInfoResolver()),
        };
        options.Converters.Add(new BytesConverter());
        options.Converters.Add(new MemoryConverter());
        options.Converters.Add(new JsonStringEnumConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>Segments of the message being written or read on this thread. Serialization is synchronous,
    /// so a thread-static scope is exact.</summary>
    internal sealed class SegmentScope : IDisposable
    {
        [ThreadStatic] static SegmentScope? _current;
        readonly SegmentScope? _outer;
        public List<ReadOnlyMemory<byte>>? Writing { get; }
        public byte[][]? Reading { get; }

        SegmentScope(List<ReadOnlyMemory<byte>>? writing, byte[][]? reading)
        {
            (_outer, Writing, Reading) = (_current, writing, reading);
            _current = this;
        }

        public static SegmentScope ForWriting(List<ReadOnlyMemory<byte>> segments) => new(segments, null);
        public static SegmentScope ForReading(byte[][] segments) => new(null, segments);
        public static SegmentScope? Current => _current;
        public void Dispose() => _current = _outer;
    }

    static void WriteSegment(Utf8JsonWriter writer, ReadOnlyMemory<byte> bytes)
    {
        var segments = SegmentScope.Current?.Writing;
        if (segments is null) { writer.WriteBase64StringValue(bytes.Span); return; }
        writer.WriteStartObject();
        writer.WriteNumber("$segment", segments.Count);
        writer.WriteEndObject();
        segments.Add(bytes);
    }

    static byte[] ReadSegment(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String) return reader.GetBytesFromBase64();
        if (reader.TokenType != JsonTokenType.StartObject || !reader.Read() || reader.TokenType != JsonTokenType.PropertyName
            || !reader.ValueTextEquals("$segment") || !reader.Read() || !reader.TryGetInt32(out var index) || !reader.Read()
            || reader.TokenType != JsonTokenType.EndObject)
            throw new JsonException("binary value must be {\"$segment\": index} or a base64 string");
        var segments = SegmentScope.Current?.Reading
            ?? throw new JsonException("a binary segment reference outside a framed message");
        if ((uint)index >= (uint)segments.Length)
            throw new JsonException($"binary segment {index} does not exist (the message has {segments.Length})");
        return segments[index];
    }

    sealed class BytesConverter : JsonConverter<byte[]>
    {
        public override byte[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => ReadSegment(ref reader);
        public override void Write(Utf8JsonWriter writer, byte[] value, JsonSerializerOptions options) => WriteSegment(writer, value);
    }

    sealed class MemoryConverter : JsonConverter<ReadOnlyMemory<byte>>
    {
        public override ReadOnlyMemory<byte> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => ReadSegment(ref reader);
        public override void Write(Utf8JsonWriter writer, ReadOnlyMemory<byte> value, JsonSerializerOptions options) => WriteSegment(writer, value);
    }
}
