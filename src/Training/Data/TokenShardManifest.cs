using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cluster.Training.Data;

/// <summary>A prepared corpus that cannot be used: missing or malformed files, or a tokenizer that is not the one it was made with.</summary>
public sealed class CorpusException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>One shard: its documents' token ids, concatenated, and where each document starts.</summary>
public sealed record TokenShardEntry(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("documents")] long Documents,
    [property: JsonPropertyName("tokens")] long Tokens);

/// <summary><c>manifest.json</c> of a prepared corpus. Each shard <c>NAME</c> has, per stream S (<c>input_ids</c>, and
/// for RoCBert <c>input_shape_ids</c> and <c>input_pronunciation_ids</c>), <c>NAME.S.i32</c> (little-endian int32 per
/// token) and <c>NAME.offsets.i64</c> (documents + 1 little-endian int64 token offsets). Documents are the corpus's
/// non-empty lines, each tokenized with the tokenizer's special tokens.</summary>
public sealed record TokenShardManifest
{
    public const string FileName = "manifest.json";
    public const string CurrentFormat = "cluster-token-shards/1";

    [JsonPropertyName("format")] public required string Format { get; init; }
    [JsonPropertyName("model_type")] public required string ModelType { get; init; }
    [JsonPropertyName("tokenizer_sha256")] public required string TokenizerSha256 { get; init; }
    [JsonPropertyName("vocab_size")] public required int VocabSize { get; init; }
    [JsonPropertyName("pad_token_id")] public required int PadTokenId { get; init; }
    [JsonPropertyName("mask_token_id")] public required int MaskTokenId { get; init; }
    [JsonPropertyName("special_token_ids")] public required int[] SpecialTokenIds { get; init; }
    [JsonPropertyName("streams")] public required string[] Streams { get; init; }
    [JsonPropertyName("sources")] public required string[] Sources { get; init; }
    [JsonPropertyName("shards")] public required TokenShardEntry[] Shards { get; init; }

    [JsonIgnore] public long Documents => Shards.Sum(s => s.Documents);
    [JsonIgnore] public long Tokens => Shards.Sum(s => s.Tokens);

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public void Write(string directory) => File.WriteAllText(Path.Combine(directory, FileName), JsonSerializer.Serialize(this, Json));

    public static TokenShardManifest Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) throw new CorpusException($"{directory}: no {FileName} (not a prepared corpus; see `cluster data prepare`)");
        TokenShardManifest? manifest;
        try { manifest = JsonSerializer.Deserialize<TokenShardManifest>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new CorpusException($"{path}: {e.Message}", e); }
        if (manifest is null) throw new CorpusException($"{path}: empty");
        if (manifest.Format != CurrentFormat) throw new CorpusException($"{path}: format '{manifest.Format}', expected '{CurrentFormat}'");
        if (manifest.Streams is not { Length: > 0 } || manifest.Streams[0] != "input_ids") throw new CorpusException($"{path}: the first stream must be input_ids");
        return manifest;
    }

    public static string StreamFile(string shard, string stream) => $"{shard}.{stream}.i32";
    public static string OffsetsFile(string shard) => $"{shard}.offsets.i64";
}
