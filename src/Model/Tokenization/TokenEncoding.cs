namespace Cluster.Model.Tokenization;

/// <summary>
/// One row of model inputs, as a Hugging Face fast tokenizer returns it. Offsets are (start, end) in Unicode code
/// points of the sequence the token came from (Python's string indices, so they match HF's offset_mapping);
/// special and padding tokens have (0, 0). RoCBert fills the shape and pronunciation ids.
/// </summary>
public sealed class TokenEncoding
{
    public required int[] InputIds { get; init; }
    public required int[] TokenTypeIds { get; init; }
    public required int[] AttentionMask { get; init; }
    public required int[] SpecialTokensMask { get; init; }
    public required (int Start, int End)[] Offsets { get; init; }
    /// <summary>Index of the word (pre-tokenized piece, or pre-split word) each token came from; null for special tokens.</summary>
    public required int?[] WordIds { get; init; }
    /// <summary>0 or 1 for the pair member each token came from; null for special tokens.</summary>
    public required int?[] SequenceIds { get; init; }
    public int[]? InputShapeIds { get; init; }
    public int[]? InputPronunciationIds { get; init; }
    /// <summary>The windows truncation cut off, each a full row (empty unless asked for).</summary>
    public IReadOnlyList<TokenEncoding> Overflowing { get; init; } = [];

    public int Length => InputIds.Length;
}

/// <summary>A batch of rows: each input's encoding followed by its overflowing windows.</summary>
public sealed class BatchEncoding(IReadOnlyList<TokenEncoding> rows, int[] overflowToSampleMapping)
{
    public IReadOnlyList<TokenEncoding> Rows { get; } = rows;
    /// <summary>For each row, the index of the input it came from (HF's overflow_to_sample_mapping).</summary>
    public int[] OverflowToSampleMapping { get; } = overflowToSampleMapping;
}

/// <summary>One text's ids and nothing else (<see cref="Tokenizer.EncodeIdsBatch"/>): RoCBert fills the shape and
/// pronunciation ids, one per token.</summary>
public readonly record struct TokenIds(int[] InputIds, int[]? InputShapeIds, int[]? InputPronunciationIds)
{
    public int Length => InputIds.Length;
}
