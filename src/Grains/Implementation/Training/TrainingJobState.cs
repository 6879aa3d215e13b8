namespace Cluster.Grains.Training;

/// <summary>What a job keeps in grain storage (memory on localhost, PostgreSQL otherwise): enough to report on it and
/// to continue it from its last checkpoint.</summary>
[GenerateSerializer, Alias("cluster.TrainingJobState")]
public sealed class TrainingJobState
{
    [Id(0)] public TrainingJobSpec? Spec { get; set; }
    [Id(1)] public string State { get; set; } = "pending";
    [Id(2)] public long Step { get; set; }
    [Id(3)] public string? LastCheckpoint { get; set; }
    [Id(4)] public List<string> Workers { get; set; } = [];
    [Id(5)] public string? Error { get; set; }
    [Id(6)] public List<string> Events { get; set; } = [];
    [Id(7)] public List<TrainingStepRecord> Steps { get; set; } = [];
    [Id(8)] public List<EvaluationRecord> Evaluations { get; set; } = [];
    /// <summary>The best score so far of the metric the spec's SaveBest names (NaN: none yet).</summary>
    [Id(9)] public double BestScore { get; set; } = double.NaN;
}
