namespace Cluster.Serving.Replica;

/// <summary>One sequence for the encoder, unpadded: the ids its tokenizer gave (RoCBert's shape and pronunciation ids
/// too). <see cref="MaskPositions"/> are the positions fill-mask scores.</summary>
public sealed record EncodedRow(int[] InputIds, int[] TokenTypeIds, int[]? ShapeIds = null, int[]? PronunciationIds = null)
{
    public int Length => InputIds.Length;
    public int[] MaskPositions { get; init; } = [];
}

/// <summary>What a head gives for one row, on the host. Its layout is the task's: classification logits (labels);
/// token logits (length × labels); QA start then end logits (length each); a multiple-choice score (1); fill-mask
/// top-k probabilities and their token ids (masks × k); embeddings, the first token's then the masked mean (hidden each).</summary>
public sealed record RowOutput(float[] Values, int[]? Ids = null);

/// <summary>One request's rows for one head; <see cref="TopK"/> is how many candidates fill-mask keeps per mask.</summary>
public sealed record WorkItem(ReplicaHead Head, IReadOnlyList<EncodedRow> Rows, int TopK = 0)
{
    public int Tokens => Rows.Count == 0 ? 0 : Rows.Max(r => r.Length) * Rows.Count;
}
