using Cluster.Training;

namespace Cluster.Grains.Training;

/// <summary>The Training layer's settings for a job's spec.</summary>
internal static class JobSettings
{
    public static OptimizerSettings Optimizer(PretrainingJobSpec spec) => new()
    {
        LearningRate = spec.LearningRate,
        TotalSteps = spec.MaxSteps,
        WarmupSteps = spec.WarmupSteps,
        WeightDecay = spec.WeightDecay,
        MaxGradNorm = spec.MaxGradNorm,
    };
}
