using Xunit;
using System.Text.Json.Nodes;
using Cluster.Model.Tokenization;
using Cluster.Model.Tokenization.Training;

namespace Cluster.Model.Tests.Tokenization;

public class TrainerTests
{
    private static readonly string[] Corpus =
    [
        "the quick brown fox jumps over the lazy dog",
        "the lazy dog sleeps; the quick fox runs",
        "a dog and a fox and the other dog",
        "pack my box with five dozen liquor jugs",
        "我爱北京天安门，北京是中国的首都",
    ];

    /// <summary>
    /// Textbook BPE training: recount every pair from scratch after each merge (slow, obviously right). Ties go to the
    /// pair of earliest-created symbols, the rule the trainer documents.
    /// </summary>
    private static List<(string, string)> NaiveMerges(string[][] words, long[] counts, IEnumerable<string> alphabet, int steps)
    {
        var order = alphabet.ToList();
        var current = words.Select(w => w.ToList()).ToList();
        var merges = new List<(string, string)>();
        for (int step = 0; step < steps; step++)
        {
            var pairs = new Dictionary<(string, string), long>();
            for (int k = 0; k < current.Count; k++)
                for (int i = 0; i + 1 < current[k].Count; i++)
                    pairs[(current[k][i], current[k][i + 1])] = pairs.GetValueOrDefault((current[k][i], current[k][i + 1])) + counts[k];
            if (pairs.Count == 0 || pairs.Values.Max() < 2) break;
            long best = pairs.Values.Max();
            var pair = pairs.Where(p => p.Value == best).Select(p => p.Key)
                .OrderBy(p => order.IndexOf(p.Item1)).ThenBy(p => order.IndexOf(p.Item2)).First();
            merges.Add(pair);
            if (!order.Contains(pair.Item1 + pair.Item2)) order.Add(pair.Item1 + pair.Item2);
            current = current.Select(w => Merge(w, pair)).ToList();
        }
        return merges;
    }

    private static List<string> Merge(List<string> w, (string A, string B) pair)
    {
        var r = new List<string>();
        for (int i = 0; i < w.Count; i++)
            if (i + 1 < w.Count && w[i] == pair.A && w[i + 1] == pair.B) { r.Add(pair.A + pair.B); i++; }
            else r.Add(w[i]);
        return r;
    }

    private static List<(string, string)> Incremental(string[][] words, long[] counts, List<string> alphabet, int steps)
    {
        var trainer = new MergeTrainer(alphabet);
        for (int i = 0; i < words.Length; i++) trainer.AddWord(words[i], counts[i]);
        return trainer.Train(steps, 2, (a, b) => a + b);
    }

    [Fact]
    public void IncrementalPairCountsGiveTheTextbookMerges()
    {
        // Sennrich et al.'s example: low×5, lower×2, newest×6, widest×3. By hand: es (9, tied with st, which has
        // later symbols), est (9), lo (7, tied with ow), low (7).
        string[][] words = [["l", "o", "w"], ["l", "o", "w", "e", "r"], ["n", "e", "w", "e", "s", "t"], ["w", "i", "d", "e", "s", "t"]];
        long[] counts = [5, 2, 6, 3];
        var alphabet = words.SelectMany(w => w).Distinct().Order(StringComparer.Ordinal).ToList();
        var merges = Incremental(words, counts, alphabet, 12);
        Assert.Equal([("e", "s"), ("es", "t"), ("l", "o"), ("lo", "w")], merges.Take(4));
        Assert.Equal(NaiveMerges(words, counts, alphabet, 12), merges);

        // And on words with repeats inside them (pairs counted twice in one word).
        var random = new Random(5);
        var randomWords = Enumerable.Range(0, 60).Select(_ => Enumerable.Range(0, random.Next(1, 12)).Select(_ => "abc"[random.Next(3)].ToString()).ToArray()).ToArray();
        var randomCounts = randomWords.Select(_ => (long)random.Next(1, 5)).ToArray();
        Assert.Equal(NaiveMerges(randomWords, randomCounts, ["a", "b", "c"], 25), Incremental(randomWords, randomCounts, ["a", "b", "c"], 25));
    }

    [Fact]
    public void TrainedBpeFilesLoadAndRoundTripTheCorpus()
    {
        var result = BpeTrainer.Train(Corpus, vocabSize: 300, minFrequency: 2);
        // Merges stop at the size limit or when no pair occurs twice, whichever comes first.
        Assert.InRange(result.Vocab.Count, 262, 300);
        Assert.Equal(270, BpeTrainer.Train(Corpus, vocabSize: 270).Vocab.Count);
        Assert.Equal(0, result.Vocab["<s>"]);
        Assert.Equal(1, result.Vocab["<pad>"]);
        string dir = Directory.CreateTempSubdirectory("cluster-trained-").FullName;
        RobertaTokenizerFiles.Save(result.Vocab, result.Merges, dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), "{\"model_type\": \"roberta\"}");
        var tokenizer = AutoTokenizer.FromPretrained(dir);
        foreach (var line in Corpus)
        {
            var e = tokenizer.Encode(line, options: new EncodeOptions { AddSpecialTokens = false });
            Assert.Equal(line, tokenizer.Decode(e.InputIds, cleanUpTokenizationSpaces: false));
        }
        // "the" (5 times) and " dog" became single tokens; a new word still encodes, byte by byte if need be.
        Assert.Single(tokenizer.Encode("the", options: new EncodeOptions { AddSpecialTokens = false }).InputIds);
        Assert.Single(tokenizer.Encode(" dog", options: new EncodeOptions { AddSpecialTokens = false }).InputIds);
        Assert.NotEmpty(tokenizer.Encode("zebra 😀", options: new EncodeOptions { AddSpecialTokens = false }).InputIds);
        Assert.Throws<TokenizerException>(() => BpeTrainer.Train(Corpus, vocabSize: 100));
    }

    [Fact]
    public void TrainedWordPieceVocabularyServesRoCBert()
    {
        var vocab = WordPieceTrainer.Train(Corpus, vocabSize: 120, minFrequency: 2);
        Assert.Equal(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], vocab.Take(5));
        Assert.Contains("the", vocab);
        Assert.Contains("##s", vocab);
        Assert.Contains("北", vocab);
        Assert.Equal(vocab.Count, vocab.Distinct().Count());
        string dir = Directory.CreateTempSubdirectory("cluster-trained-wp-").FullName;
        RoCBertTokenizerFiles.SaveVocab(vocab, dir);
        var unk = new Dictionary<string, int> { ["[UNK]"] = 0 };
        RoCBertTokenizerFiles.SaveMap(unk, Path.Combine(dir, "word_shape.json"));
        RoCBertTokenizerFiles.SaveMap(unk, Path.Combine(dir, "word_pronunciation.json"));
        File.WriteAllText(Path.Combine(dir, "config.json"), "{\"model_type\": \"roc_bert\"}");
        var tokenizer = AutoTokenizer.FromPretrained(dir);
        var e = tokenizer.Encode("the lazy fox sleeps", options: new EncodeOptions { AddSpecialTokens = false });
        Assert.DoesNotContain(1, e.InputIds);
        Assert.Equal("the lazy fox sleeps", tokenizer.Decode(e.InputIds));
    }

    [Fact]
    public void RoCBertMapsShareIdsForLookAlikesAndSoundAlikes()
    {
        string[] vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "人", "入", "八", "##入", "京", "经", "the"];
        // 人 and 入: a left-falling then a right-falling stroke; 八 shares the directions but its first stroke hooks.
        static JsonArray Medians(params int[][][] strokes) => new(strokes.Select(s => (JsonNode)new JsonArray(s.Select(p => (JsonNode)new JsonArray(p[0], p[1])).ToArray())).ToArray());
        string dir = Directory.CreateTempSubdirectory("cluster-hanzi-").FullName;
        File.WriteAllText(Path.Combine(dir, "人.json"), new JsonObject { ["medians"] = Medians([[500, 800], [300, 200]], [[500, 600], [800, 150]]) }.ToJsonString());
        File.WriteAllText(Path.Combine(dir, "入.json"), new JsonObject { ["medians"] = Medians([[550, 750], [350, 150]], [[450, 650], [850, 100]]) }.ToJsonString());
        File.WriteAllText(Path.Combine(dir, "八.json"), new JsonObject { ["medians"] = Medians([[400, 700], [400, 200], [300, 260]], [[600, 600], [850, 150]]) }.ToJsonString());
        var shapes = RoCBertMapsBuilder.ReadHanziWriterData(dir);
        var pinyin = new Dictionary<int, string> { ['人'] = "rén", ['入'] = "rù", ['京'] = "jīng", ['经'] = "jīng" };
        var maps = RoCBertMapsBuilder.Build(vocab, shapes, pinyin);
        Assert.Equal(0, maps.Shapes["[PAD]"]);
        Assert.Equal(maps.Shapes["人"], maps.Shapes["入"]);
        Assert.Equal(maps.Shapes["入"], maps.Shapes["##入"]);
        Assert.NotEqual(maps.Shapes["人"], maps.Shapes["八"]);
        Assert.Equal(maps.Pronunciations["京"], maps.Pronunciations["经"]);
        Assert.NotEqual(maps.Pronunciations["人"], maps.Pronunciations["入"]);
        Assert.Equal(vocab.Length, maps.Shapes.Count);
        Assert.Equal(maps.Shapes.Values.Distinct().Count(), maps.ShapeVocabSize);
        Assert.Equal(4, maps.CharactersWithShape);   // 人, 入, 八 and ##入
    }
}
