namespace Cluster.Model.Tokenization.Training;

/// <summary>
/// Trains a byte-level BPE vocabulary (what HF's ByteLevelBPETokenizer.train does): GPT-2 pre-tokenization, all 256
/// byte symbols as the alphabet, special tokens first in the vocabulary, then the alphabet, then one token per merge.
/// </summary>
public static class BpeTrainer
{
    public static readonly IReadOnlyList<string> RobertaSpecialTokens = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"];

    public sealed record Result(Dictionary<string, int> Vocab, List<(string Left, string Right)> Merges);

    public static Result Train(IEnumerable<string> lines, int vocabSize, long minFrequency = 2, IReadOnlyList<string>? specialTokens = null)
    {
        specialTokens ??= RobertaSpecialTokens;
        int floor = specialTokens.Count + 256;
        if (vocabSize < floor) throw new TokenizerException($"vocab size {vocabSize} is below {floor}: the special tokens and 256 byte symbols");
        var counts = WordCounts.Count(lines, CountPieces);
        var alphabet = Enumerable.Range(0, 256).Select(b => ByteLevel.ByteToChar[b].ToString()).Order(StringComparer.Ordinal).ToList();
        var trainer = new MergeTrainer(alphabet);
        foreach (var (word, count) in counts) trainer.AddWord(word.Select(c => c.ToString()).ToArray(), count);
        var merges = trainer.Train(vocabSize - floor, minFrequency, (a, b) => a + b);
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in specialTokens) vocab.TryAdd(t, vocab.Count);
        foreach (var s in trainer.Symbols) vocab.TryAdd(s, vocab.Count);
        return new Result(vocab, merges);
    }

    private struct PieceCollector(string line, Dictionary<string, long> counts) : IRangeSink
    {
        public void Add(int start, int end)
        {
            string piece = ByteLevel.ToByteChars(line[start..end]);
            counts[piece] = counts.GetValueOrDefault(piece) + 1;
        }
    }

    private static void CountPieces(string line, Dictionary<string, long> counts)
    {
        var sink = new PieceCollector(line, counts);
        ByteLevel.PreTokenize(line, 0, line.Length, ref sink);
    }
}

/// <summary>Word frequencies of a corpus, counted on all cores.</summary>
internal static class WordCounts
{
    public static Dictionary<string, long> Count(IEnumerable<string> lines, Action<string, Dictionary<string, long>> countLine)
    {
        var total = new Dictionary<string, long>(StringComparer.Ordinal);
        var gate = new object();
        Parallel.ForEach(lines.Chunk(1024), () => new Dictionary<string, long>(StringComparer.Ordinal),
            (chunk, _, local) => { foreach (var line in chunk) countLine(line, local); return local; },
            local => { lock (gate) foreach (var (w, c) in local) total[w] = total.GetValueOrDefault(w) + c; });
        return total;
    }
}
