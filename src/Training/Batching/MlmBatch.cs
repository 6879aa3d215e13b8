using Cluster.Training.Data;
using Cluster.Training.Masking;
using Cluster.Torch;

namespace Cluster.Training.Batching;

/// <summary>A masked-LM micro-batch on the host: rows padded to the longest, the corruption applied. <see cref="ToTensors"/>
/// makes the model's inputs.</summary>
public sealed class MlmBatch
{
    public required int Rows { get; init; }
    public required int Length { get; init; }
    public required int[] InputIds { get; init; }
    public required int[] AttentionMask { get; init; }
    public required long[] Labels { get; init; }
    /// <summary>RoCBert's shape and pronunciation ids (corrupted positions keep the original token's).</summary>
    public int[]? ShapeIds { get; init; }
    public int[]? PronunciationIds { get; init; }
    public required int MaskedTokens { get; init; }
    public required long RealTokens { get; init; }

    public static MlmBatch Build(PretrainingExamples examples, DynamicMasking masking, ulong seed, IReadOnlyList<(long Epoch, long Example)> picks, int padTokenId)
    {
        var length = picks.Max(p => examples.Length(p.Example));
        var rows = picks.Count;
        var (ids, attention, labels) = (new int[rows * length], new int[rows * length], new long[rows * length]);
        var streams = examples.Corpus.StreamCount;
        var (shape, pronunciation) = streams == 3 ? (new int[rows * length], new int[rows * length]) : ((int[]?)null, (int[]?)null);
        Array.Fill(ids, padTokenId);
        Array.Fill(labels, DynamicMasking.IgnoreIndex);
        var original = new int[length];
        int masked = 0;
        long real = 0;
        for (var r = 0; r < rows; r++)
        {
            var (epoch, example) = picks[r];
            var n = examples.Copy(example, original);
            masked += masking.Apply(seed, epoch, example, original.AsSpan(0, n), ids.AsSpan(r * length, n), labels.AsSpan(r * length, n));
            attention.AsSpan(r * length, n).Fill(1);
            if (shape is not null)
            {
                examples.Copy(example, shape.AsSpan(r * length), 1);
                examples.Copy(example, pronunciation!.AsSpan(r * length), 2);
            }
            real += n;
        }
        return new MlmBatch
        {
            Rows = rows, Length = length, InputIds = ids, AttentionMask = attention, Labels = labels,
            ShapeIds = shape, PronunciationIds = pronunciation, MaskedTokens = masked, RealTokens = real,
        };
    }

    /// <summary>input_ids, attention_mask (and RoCBert's shape and pronunciation ids) as int64 tensors, and the labels,
    /// on <paramref name="device"/>, in the caller's DisposeScope.</summary>
    public (Dictionary<string, Tensor> Inputs, Tensor Labels) ToTensors(Device device)
    {
        Tensor Ids(int[] values) => HostIds.ToTensor(values, Rows, Length, device);
        var inputs = new Dictionary<string, Tensor> { ["input_ids"] = Ids(InputIds), ["attention_mask"] = Ids(AttentionMask) };
        if (ShapeIds is not null) inputs["input_shape_ids"] = Ids(ShapeIds);
        if (PronunciationIds is not null) inputs["input_pronunciation_ids"] = Ids(PronunciationIds);
        return (inputs, HostIds.ToTensor(Labels, Rows, Length, device));
    }
}
