namespace Cluster.Training.Evaluation;

/// <summary>Single-label classification scores as scikit-learn computes them (what HF's examples report): accuracy,
/// and F1 averaged over the classes seen in either the references or the predictions (macro) or over every decision
/// (micro, which for one label per example is the accuracy). A class never predicted and never true is left out; one
/// with no predicted or no true example scores 0 (sklearn's zero_division default, with its warning).</summary>
public static class ClassificationMetrics
{
    public static double Accuracy(IReadOnlyList<int> references, IReadOnlyList<int> predictions)
    {
        CheckLengths(references.Count, predictions.Count);
        return references.Count == 0 ? double.NaN : references.Zip(predictions).Count(p => p.First == p.Second) / (double)references.Count;
    }

    public static double MacroF1(IReadOnlyList<int> references, IReadOnlyList<int> predictions)
    {
        CheckLengths(references.Count, predictions.Count);
        var classes = references.Concat(predictions).Distinct().ToArray();
        if (classes.Length == 0) return double.NaN;
        return classes.Average(c =>
        {
            long truePositive = 0, predicted = 0, actual = 0;
            for (var i = 0; i < references.Count; i++)
            {
                if (predictions[i] == c) predicted++;
                if (references[i] == c) actual++;
                if (predictions[i] == c && references[i] == c) truePositive++;
            }
            return F1(truePositive, predicted, actual);
        });
    }

    /// <summary>Micro F1 over multi-label decisions: every (example, label) pair is one yes/no.</summary>
    public static double MicroF1(IReadOnlyList<bool[]> references, IReadOnlyList<bool[]> predictions)
    {
        CheckLengths(references.Count, predictions.Count);
        long truePositive = 0, predicted = 0, actual = 0;
        for (var i = 0; i < references.Count; i++)
        {
            CheckLengths(references[i].Length, predictions[i].Length);
            for (var j = 0; j < references[i].Length; j++)
            {
                if (predictions[i][j]) predicted++;
                if (references[i][j]) actual++;
                if (predictions[i][j] && references[i][j]) truePositive++;
            }
        }
        return F1(truePositive, predicted, actual);
    }

    /// <summary>Multi-label exact-match ratio (sklearn's accuracy_score on label sets).</summary>
    public static double SubsetAccuracy(IReadOnlyList<bool[]> references, IReadOnlyList<bool[]> predictions)
    {
        CheckLengths(references.Count, predictions.Count);
        return references.Count == 0 ? double.NaN : references.Zip(predictions).Count(p => p.First.SequenceEqual(p.Second)) / (double)references.Count;
    }

    internal static double F1(long truePositive, long predicted, long actual)
    {
        double precision = predicted == 0 ? 0 : truePositive / (double)predicted, recall = actual == 0 ? 0 : truePositive / (double)actual;
        return precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
    }

    internal static void CheckLengths(int references, int predictions)
    {
        if (references != predictions) throw new ArgumentException($"{references} references but {predictions} predictions");
    }
}
