using Cluster.Model.Tokenization;
namespace Cluster.Training.FineTuning;

/// <summary>
/// Question answering's post-processing, as run_qa's <c>postprocess_qa_predictions</c>: over every window of an
/// example, the <c>nBest</c> highest start and end logits are paired; a pair is kept when both tokens are context tokens,
/// the end does not precede the start and the span is at most <c>maxAnswerLength</c> tokens; its score is the sum of the
/// two logits. The answer is the best span's text. With unanswerable questions (SQuAD v2), the null score is the
/// smallest <c>start[0] + end[0]</c> over the windows, and the answer is empty when it beats the best span's score by
/// more than <c>nullThreshold</c>.
/// </summary>
public static class AnswerSpans
{
    public static string Predict(QuestionExample example, IReadOnlyList<(Feature Feature, FeatureScores Scores)> windows,
                                 bool withNoAnswer, int nBest = 20, int maxAnswerLength = 30, double nullThreshold = 0)
    {
        // Spans are kept as code-point ranges (-1 for the null answer); only the nBest kept are cut from the context.
        var candidates = new List<(double Score, double Start, double End, int From, int To)>();
        (double Score, double Start, double End)? nullScore = null;
        foreach (var (feature, scores) in windows)
        {
            var (start, end) = (scores.Logits, scores.EndLogits!);
            var offsets = feature.ContextOffsets!;
            double featureNull = start[0] + end[0];
            if (nullScore is null || nullScore.Value.Score > featureNull) nullScore = (featureNull, start[0], end[0]);
            foreach (var s in Top(start, nBest, offsets.Length))
                foreach (var e in Top(end, nBest, offsets.Length))
                {
                    if (offsets[s] is not { } first || offsets[e] is not { } last || e < s || e - s + 1 > maxAnswerLength) continue;
                    candidates.Add((start[s] + end[e], start[s], end[e], first.Start, last.End));
                }
        }
        if (withNoAnswer && nullScore is { } n) candidates.Add((n.Score, n.Start, n.End, -1, -1));
        var context = new CodePointText(example.Context);
        var best = candidates.OrderByDescending(c => c.Score).Take(nBest)
            .Select(c => (c.Score, c.Start, c.End, Text: c.From < 0 ? "" : context.Slice(c.From, c.To) ?? "")).ToList();
        if (withNoAnswer && nullScore is { } missing && !best.Any(c => c.Text == "")) best.Add((missing.Score, missing.Start, missing.End, ""));
        // run_qa's fallback when nothing valid was found: a prediction of the text "empty" scored 0.
        if (best.Count == 0 || (best.Count == 1 && best[0].Text == "")) best.Insert(0, (0, 0, 0, "empty"));
        if (!withNoAnswer) return best[0].Text;
        var nonNull = best.First(c => c.Text != "");
        var difference = nullScore!.Value.Score - nonNull.Start - nonNull.End;
        return difference > nullThreshold ? "" : nonNull.Text;
    }

    /// <summary>The indices of the <paramref name="n"/> largest logits, largest first (the first index on ties, as a
    /// stable argsort read backwards gives the last: ties are rare in float logits).</summary>
    static IEnumerable<int> Top(float[] logits, int n, int length) =>
        Enumerable.Range(0, Math.Min(length, logits.Length)).OrderByDescending(i => logits[i]).Take(n);
}
