using System.Text;
using System.Text.RegularExpressions;

namespace Cluster.Training.Evaluation;

/// <summary>SQuAD's official scores: exact match and token F1 after its normalisation (lower case, ASCII punctuation
/// removed, the articles a/an/the removed, whitespace collapsed), each the best over the question's gold answers, as
/// percentages. For v2 an unanswerable question's only gold answer is the empty string, and an empty prediction or
/// gold scores 1 only against another empty one (the v2 script's rule).</summary>
public static partial class SquadMetrics
{
    public readonly record struct Scores(double ExactMatch, double F1, int Total);

    /// <summary>Python's string.punctuation.</summary>
    const string Punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    [GeneratedRegex(@"\b(a|an|the)\b")]
    private static partial Regex Articles();

    public static string Normalize(string text)
    {
        var kept = new StringBuilder(text.Length);
        foreach (var c in text.ToLowerInvariant())
            if (Punctuation.IndexOf(c) < 0) kept.Append(c);
        return string.Join(' ', Tokens(Articles().Replace(kept.ToString(), " ")));
    }

    static string[] Tokens(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    public static double ExactMatch(string prediction, string gold) => Normalize(prediction) == Normalize(gold) ? 1 : 0;

    public static double F1(string prediction, string gold)
    {
        var (predicted, truth) = (Tokens(Normalize(prediction)), Tokens(Normalize(gold)));
        if (predicted.Length == 0 || truth.Length == 0) return predicted.Length == truth.Length ? 1 : 0;
        var counts = truth.GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        var same = 0;
        foreach (var t in predicted)
            if (counts.TryGetValue(t, out var n) && n > 0)
            {
                counts[t] = n - 1;
                same++;
            }
        if (same == 0) return 0;
        double precision = same / (double)predicted.Length, recall = same / (double)truth.Length;
        return 2 * precision * recall / (precision + recall);
    }

    /// <param name="golds">each question's gold answer texts; empty for an unanswerable (v2) question</param>
    public static Scores Compute(IReadOnlyList<string> predictions, IReadOnlyList<IReadOnlyList<string>> golds)
    {
        ClassificationMetrics.CheckLengths(golds.Count, predictions.Count);
        double exact = 0, f1 = 0;
        for (var i = 0; i < predictions.Count; i++)
        {
            IReadOnlyList<string> answers = golds[i].Count == 0 ? [""] : golds[i];
            exact += answers.Max(g => ExactMatch(predictions[i], g));
            f1 += answers.Max(g => F1(predictions[i], g));
        }
        var total = predictions.Count;
        return total == 0 ? new Scores(double.NaN, double.NaN, 0) : new Scores(100 * exact / total, 100 * f1 / total, total);
    }
}
