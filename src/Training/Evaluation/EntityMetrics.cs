namespace Cluster.Training.Evaluation;

/// <summary>An entity: its type and the first and last word it covers, in one sentence.</summary>
public readonly record struct Entity(int Sentence, string Type, int Start, int End);

/// <summary>Entity-level precision, recall and F1 as seqeval computes them by default (conlleval's lenient reading of
/// IOB/IOBES tags, micro-averaged over types), plus the word accuracy: what run_ner reports as precision, recall, f1
/// and accuracy. An entity counts as found only when its type and both of its boundaries match.</summary>
public static class EntityMetrics
{
    public readonly record struct Scores(double Precision, double Recall, double F1, double Accuracy);

    public static Scores Compute(IReadOnlyList<IReadOnlyList<string>> references, IReadOnlyList<IReadOnlyList<string>> predictions)
    {
        ClassificationMetrics.CheckLengths(references.Count, predictions.Count);
        long words = 0, correctWords = 0;
        for (var s = 0; s < references.Count; s++)
        {
            if (references[s].Count != predictions[s].Count)
                throw new ArgumentException($"sentence {s} has {references[s].Count} reference tags but {predictions[s].Count} predicted");
            words += references[s].Count;
            correctWords += references[s].Zip(predictions[s]).Count(p => p.First == p.Second);
        }
        var truth = Entities(references).ToHashSet();
        var found = Entities(predictions).ToHashSet();
        long correct = found.Count(truth.Contains);
        double precision = found.Count == 0 ? 0 : correct / (double)found.Count, recall = truth.Count == 0 ? 0 : correct / (double)truth.Count;
        return new Scores(precision, recall, ClassificationMetrics.F1(correct, found.Count, truth.Count), words == 0 ? double.NaN : correctWords / (double)words);
    }

    public static IEnumerable<Entity> Entities(IReadOnlyList<IReadOnlyList<string>> sentences)
    {
        for (var s = 0; s < sentences.Count; s++)
            foreach (var e in Entities(sentences[s], s)) yield return e;
    }

    /// <summary>The entities of one sentence's tags ("B-PER", "I-PER", "O", IOBES's "E-"/"S-"): a chunk starts at B or S,
    /// at I or E after O, E or S, or where the type changes; it ends before the tag that starts another or is O.</summary>
    public static IEnumerable<Entity> Entities(IReadOnlyList<string> tags, int sentence = 0)
    {
        char previousTag = 'O';
        string previousType = "";
        var begin = 0;
        for (var i = 0; i <= tags.Count; i++)
        {
            var (tag, type) = i < tags.Count ? Split(tags[i]) : ('O', "_");
            if (EndsChunk(previousTag, tag, previousType, type)) yield return new Entity(sentence, previousType, begin, i - 1);
            if (StartsChunk(previousTag, tag, previousType, type)) begin = i;
            (previousTag, previousType) = (tag, type);
        }
    }

    /// <summary>seqeval's reading: the first character is the tag; the type is what follows its first '-' ("_" if nothing).</summary>
    static (char Tag, string Type) Split(string label)
    {
        if (label.Length == 0) return ('O', "_");
        var rest = label[1..];
        var dash = rest.IndexOf('-');
        var type = dash < 0 ? rest : rest[(dash + 1)..];
        return (label[0], type.Length == 0 ? "_" : type);
    }

    static bool EndsChunk(char previousTag, char tag, string previousType, string type) =>
        (previousTag is 'E' or 'S')
        || ((previousTag is 'B' or 'I') && (tag is 'B' or 'S' or 'O'))
        || ((previousTag is not ('O' or '.')) && previousType != type);

    static bool StartsChunk(char previousTag, char tag, string previousType, string type) =>
        (tag is 'B' or 'S')
        || ((previousTag is 'E' or 'S' or 'O') && (tag is 'E' or 'I'))
        || ((tag is not ('O' or '.')) && previousType != type);
}
