using Cluster.Training;
using Cluster.Training.FineTuning;

namespace Cluster.Grains.Training;

/// <summary>The Training layer's settings for a job's spec.</summary>
internal static class JobSettings
{
    public static OptimizerSettings Optimizer(TrainingJobSpec spec) => new()
    {
        LearningRate = spec.LearningRate,
        TotalSteps = spec.MaxSteps,
        WarmupSteps = spec.WarmupSteps,
        WeightDecay = spec.WeightDecay,
        MaxGradNorm = spec.MaxGradNorm,
        Beta2 = spec.Beta2,
        Epsilon = spec.Epsilon,
        Bf16 = spec.Bf16,
    };

    public static TaskOptions Task(TrainingJobSpec spec, FineTuningJobSpec ft) => new()
    {
        MaxLength = spec.MaxLength,
        DocStride = ft.DocStride,
        Problem = ft.ProblemType is null ? null : ProblemTypes.Parse(ft.ProblemType),
        NumLabels = ft.NumLabels,
        MaxAnswerLength = ft.MaxAnswerLength,
        NullThreshold = ft.NullScoreThreshold,
    };
}
