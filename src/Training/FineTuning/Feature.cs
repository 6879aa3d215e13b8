namespace Cluster.Training.FineTuning;

/// <summary>One tokenized sequence: ids, and for RoCBert its token types, shape and pronunciation ids; offsets (code
/// points into the text) are kept for question answering's context tokens only.</summary>
public sealed record EncodedRow(int[] InputIds, int[]? TokenTypeIds, int[]? ShapeIds, int[]? PronunciationIds)
{
    public int Length => InputIds.Length;
}

/// <summary>What one training or evaluation row is: its sequences (one, or one per ending), the example it came from
/// (a long QA context gives several windows), and its targets: a class, multi-hot or regression targets, a label per
/// token (-100 where none), or an answer span (both 0, the <c>&lt;s&gt;</c> token, when the window lacks the
/// answer).</summary>
public sealed record Feature(int Example, EncodedRow[] Rows)
{
    public int ClassId { get; init; }
    public float[]? Targets { get; init; }
    public int[]? TokenLabels { get; init; }
    public int StartPosition { get; init; }
    public int EndPosition { get; init; }
    /// <summary>QA: each token's code-point span in the context, null for question and special tokens.</summary>
    public (int Start, int End)?[]? ContextOffsets { get; init; }
}
