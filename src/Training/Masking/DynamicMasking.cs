namespace Cluster.Training.Masking;

/// <summary>BERT's masked-language-model corruption, as Hugging Face's DataCollatorForLanguageModeling applies it:
/// each maskable token is chosen with probability <see cref="Probability"/> (15%); of the chosen, 80% become the mask
/// token, 10% a random token of the vocabulary, 10% stay; special tokens and padding are never chosen. Unlike the
/// collator's, the choice is a pure function of (seed, epoch, global example index, position), so the same global
/// batch is masked the same whatever the number of workers, and a resumed job sees what it would have seen.</summary>
public sealed class DynamicMasking(int maskTokenId, int vocabSize, IReadOnlySet<int> neverMasked, double probability = 0.15)
{
    public const long IgnoreIndex = -100;
    public int MaskTokenId { get; } = maskTokenId;
    public int VocabSize { get; } = vocabSize;
    public double Probability { get; } = probability is > 0 and < 1 ? probability : throw new ArgumentOutOfRangeException(nameof(probability));

    /// <summary>Writes the corrupted ids into <paramref name="corrupted"/> and the labels (the original id where a token
    /// was chosen, <see cref="IgnoreIndex"/> elsewhere) into <paramref name="labels"/>; returns how many were chosen.</summary>
    public int Apply(ulong seed, long epoch, long example, ReadOnlySpan<int> ids, Span<int> corrupted, Span<long> labels)
    {
        var chosen = 0;
        for (var i = 0; i < ids.Length; i++)
        {
            var id = ids[i];
            corrupted[i] = id;
            labels[i] = IgnoreIndex;
            if (neverMasked.Contains(id)) continue;
            var draw = CounterRandom.Hash(seed, (ulong)epoch, (ulong)example, (ulong)i * 3);
            if (CounterRandom.Uniform(draw) >= Probability) continue;
            chosen++;
            labels[i] = id;
            var what = CounterRandom.Uniform(CounterRandom.Hash(seed, (ulong)epoch, (ulong)example, (ulong)i * 3 + 1));
            if (what < 0.8) corrupted[i] = MaskTokenId;
            else if (what < 0.9) corrupted[i] = (int)(CounterRandom.Hash(seed, (ulong)epoch, (ulong)example, (ulong)i * 3 + 2) % (ulong)VocabSize);
        }
        return chosen;
    }
}
