namespace Cluster.Model.Tokenization.Training;

/// <summary>
/// Builds a WordPiece vocab.txt from a corpus (HF's WordPieceTrainer approach): words from BERT's BasicTokenizer,
/// each spelled as its first character plus "##"-prefixed continuations, then BPE merges (a + ##b → ab,
/// ##a + ##b → ##ab). Vocabulary: special tokens, every character seen, then one token per merge.
/// </summary>
public static class WordPieceTrainer
{
    public static readonly IReadOnlyList<string> BertSpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    public static List<string> Train(IEnumerable<string> lines, int vocabSize, long minFrequency = 2,
                                     IReadOnlyList<string>? specialTokens = null, bool lowerCase = true)
    {
        specialTokens ??= BertSpecialTokens;
        var basic = new BasicTokenizer(lowerCase, null, tokenizeChineseChars: true, new HashSet<string>());
        var counts = WordCounts.Count(lines, (line, local) =>
        {
            foreach (var w in basic.Words(line)) local[w] = local.GetValueOrDefault(w) + 1;
        });
        var spelled = counts.ToDictionary(kv => kv.Key, kv => Spell(kv.Key));
        var alphabet = spelled.Values.SelectMany(s => s).Distinct().Order(StringComparer.Ordinal).ToList();
        int floor = specialTokens.Count + alphabet.Count;
        if (vocabSize < floor)
            throw new TokenizerException($"vocab size {vocabSize} is below {floor}: the special tokens and the {alphabet.Count} characters of the corpus");
        var trainer = new MergeTrainer(alphabet);
        foreach (var (word, count) in counts) trainer.AddWord(spelled[word], count);
        trainer.Train(vocabSize - floor, minFrequency, (a, b) => a + (b.StartsWith("##", StringComparison.Ordinal) ? b[2..] : b));
        var vocab = new List<string>(specialTokens);
        var seen = specialTokens.ToHashSet();
        foreach (var s in trainer.Symbols) if (seen.Add(s)) vocab.Add(s);
        return vocab;
    }

    private static string[] Spell(string word)
    {
        var chars = word.EnumerateRunes().Select(r => r.ToString()).ToArray();
        for (int i = 1; i < chars.Length; i++) chars[i] = "##" + chars[i];
        return chars;
    }
}
