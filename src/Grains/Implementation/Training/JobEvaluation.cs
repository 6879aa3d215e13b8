using Cluster.Model.Tasks;
using Cluster.Training.Evaluation;
using Cluster.Training.FineTuning;

namespace Cluster.Grains.Training;

/// <summary>The coordinator's bookkeeping of a fine-tuning job's evaluations: which metric is better, the lines a person
/// reads, and OUT/eval_results.json (HF's name for the final metrics).</summary>
internal static class JobEvaluation
{
    public static void Check(FineTuningJobSpec ft)
    {
        var head = Heads.Parse(ft.Task);
        if (!HeadSpec.Tasks.Contains(head))
            throw new ArgumentException($"{ft.Task} is not a fine-tuning task (known: {string.Join(", ", HeadSpec.Tasks.Select(t => t.Name()))})");
        if (ft.ProblemType is { } problem) ProblemTypes.Parse(problem);
        FineTuningInputs.CheckEvaluation(ft.SaveBest, ft.EvalEvery);
        if (ft.EvalBatchSize < 1) throw new ArgumentException($"the evaluation batch must hold a feature, not {ft.EvalBatchSize}");
    }

    /// <summary>Lower is better for losses and errors, higher for every other metric.</summary>
    static bool LowerIsBetter(string metric) => metric.EndsWith("_loss", StringComparison.Ordinal) || metric.EndsWith("_mse", StringComparison.Ordinal);

    public static bool Improves(string metric, IReadOnlyDictionary<string, double> metrics, double best)
    {
        if (!metrics.TryGetValue(metric, out var value))
            throw new ArgumentException($"--save-best {metric}: the task reports {string.Join(", ", metrics.Keys)}");
        return double.IsNaN(best) || (LowerIsBetter(metric) ? value < best : value > best);
    }

    public static double Best(string metric, IEnumerable<EvaluationRecord> evaluations)
    {
        var values = evaluations.Where(e => e.Metrics.ContainsKey(metric)).Select(e => e.Metrics[metric]).ToArray();
        return values.Length == 0 ? double.NaN : LowerIsBetter(metric) ? values.Min() : values.Max();
    }

    public static Task WriteResultsAsync(string outputDirectory, EvaluationRecord final) => Task.Run(() =>
    {
        var metrics = final.Metrics.ToDictionary(kv => kv.Key, kv => (object)kv.Value);
        metrics["step"] = final.Step;
        var tmp = Path.Combine(outputDirectory, "eval_results.json.tmp");
        File.WriteAllText(tmp, MetricsReport.ToJson(metrics));
        File.Move(tmp, Path.Combine(outputDirectory, "eval_results.json"), overwrite: true);
    });
}
