using Cluster.Model.Tokenization;
using Cluster.Model.Tokenization.Training;

namespace Cluster.Testing;

/// <summary>A RoCBert tokenizer directory for tests: WordPiece trained on the given lines, and toy shape and
/// pronunciation maps that make "look-alikes" of tokens with the same first letter and "sound-alikes" of tokens of
/// the same length (enough alternatives for attacks).</summary>
public static class ToyRoCBertTokenizer
{
    public static RoCBertTokenizer Save(IReadOnlyList<string> lines, int vocabSize, string directory)
    {
        var vocab = WordPieceTrainer.Train(lines, vocabSize);
        RoCBertTokenizerFiles.SaveVocab(vocab, directory);
        var specials = WordPieceTrainer.BertSpecialTokens;
        Dictionary<string, int> Map(Func<string, int> group) =>
            vocab.ToDictionary(t => t, t => specials.Contains(t) ? specials.ToList().IndexOf(t) : 10 + group(t.TrimStart('#')));
        RoCBertTokenizerFiles.SaveMap(Map(t => t[0] % 40), Path.Combine(directory, "word_shape.json"));
        RoCBertTokenizerFiles.SaveMap(Map(t => t.Length), Path.Combine(directory, "word_pronunciation.json"));
        return RoCBertTokenizerFiles.Load(directory);
    }
}
