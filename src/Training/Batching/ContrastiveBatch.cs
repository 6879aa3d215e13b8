using Cluster.Training.Data;
using Cluster.Training.Masking;
using Cluster.Torch;

namespace Cluster.Training.Batching;

/// <summary>A RoCBert pretraining micro-batch on the host, as its recipe builds one (HF's RoCBertForPreTraining
/// inputs): the input (attacked for <see cref="CharacterAttack.SentenceRatio"/> of the examples, then masked), the
/// labels (the original sentence, every real token: the loss is over all of them), and the attacked copy whose pooled
/// output the input and the original must pick out among the global batch's. Rows are padded to the longest.</summary>
public sealed class ContrastiveBatch
{
    public required int Rows { get; init; }
    public required int Length { get; init; }
    public required int[] InputIds { get; init; }
    public required int[] InputShapeIds { get; init; }
    public required int[] InputPronunciationIds { get; init; }
    public required int[] AttentionMask { get; init; }
    /// <summary>The original ids (labels_input_ids), <see cref="DynamicMasking.IgnoreIndex"/> on padding.</summary>
    public required long[] Labels { get; init; }
    public required int[] LabelShapeIds { get; init; }
    public required int[] LabelPronunciationIds { get; init; }
    public required int[] AttackIds { get; init; }
    public required int[] AttackShapeIds { get; init; }
    public required int[] AttackPronunciationIds { get; init; }
    /// <summary>Real (unpadded) tokens: the masked-LM loss is averaged over these.</summary>
    public required long LabelTokens { get; init; }

    public static ContrastiveBatch Build(PretrainingExamples examples, DynamicMasking masking, CharacterAttack attack, ulong seed,
                                         IReadOnlyList<(long Epoch, long Example)> picks, int padTokenId)
    {
        if (examples.Corpus.StreamCount != 3)
            throw new CorpusException("RoCBert's contrastive pretraining needs shape and pronunciation ids in the corpus (a roc_bert tokenizer's shards)");
        var length = picks.Max(p => examples.Length(p.Example));
        var rows = picks.Count;
        int[] Ints(int fill) { var a = new int[rows * length]; if (fill != 0) Array.Fill(a, fill); return a; }
        var (input, inputShape, inputSound, attention) = (Ints(padTokenId), Ints(0), Ints(0), Ints(0));
        var (labelShape, labelSound, attacked, attackShape, attackSound) = (Ints(0), Ints(0), Ints(padTokenId), Ints(0), Ints(0));
        var labels = new long[rows * length];
        Array.Fill(labels, DynamicMasking.IgnoreIndex);
        var (original, attackedInput, unused) = (new int[length], new int[length], new long[length]);
        long real = 0;
        for (var r = 0; r < rows; r++)
        {
            var (epoch, example) = picks[r];
            var n = examples.Copy(example, original);
            var at = r * length;
            examples.Copy(example, labelShape.AsSpan(at), 1);
            examples.Copy(example, labelSound.AsSpan(at), 2);
            for (var i = 0; i < n; i++) labels[at + i] = original[i];
            attention.AsSpan(at, n).Fill(1);
            attack.Apply(seed, epoch, example, 0, original.AsSpan(0, n), attacked.AsSpan(at, n), attackShape.AsSpan(at, n), attackSound.AsSpan(at, n));

            // The input: the original, or for a share of examples an attack of its own, then the masked-LM corruption.
            // Masked positions keep their token's shape and pronunciation ids, as the recipe does.
            ReadOnlySpan<int> source = original.AsSpan(0, n);
            if (attack.AttacksInput(seed, epoch, example))
            {
                attack.Apply(seed, epoch, example, 1, source, attackedInput.AsSpan(0, n), inputShape.AsSpan(at, n), inputSound.AsSpan(at, n));
                source = attackedInput.AsSpan(0, n);
            }
            else
            {
                labelShape.AsSpan(at, n).CopyTo(inputShape.AsSpan(at));
                labelSound.AsSpan(at, n).CopyTo(inputSound.AsSpan(at));
            }
            masking.Apply(seed, epoch, example, source, input.AsSpan(at, n), unused.AsSpan(0, n));
            real += n;
        }
        return new ContrastiveBatch
        {
            Rows = rows, Length = length, InputIds = input, InputShapeIds = inputShape, InputPronunciationIds = inputSound,
            AttentionMask = attention, Labels = labels, LabelShapeIds = labelShape, LabelPronunciationIds = labelSound,
            AttackIds = attacked, AttackShapeIds = attackShape, AttackPronunciationIds = attackSound, LabelTokens = real,
        };
    }

    /// <summary>An int64 (rows, length) tensor on <paramref name="device"/>, in the caller's DisposeScope.</summary>
    public Tensor Tensor(int[] values, Device device) => HostIds.ToTensor(values, Rows, Length, device);
    public Tensor Tensor(long[] values, Device device) => HostIds.ToTensor(values, Rows, Length, device);
}
