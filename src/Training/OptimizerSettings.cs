namespace Cluster.Training;

/// <summary>AdamW with warm-up then linear decay, and gradient clipping: fairseq's RoBERTa recipe by default
/// (β2 0.98, ε 1e-6, weight decay 0.01; no decay on biases and LayerNorm, as the Hugging Face Trainer does); and the
/// precision the training forward passes run in.</summary>
public sealed record OptimizerSettings
{
    public required double LearningRate { get; init; }
    public required long TotalSteps { get; init; }
    public long WarmupSteps { get; init; }
    public double WeightDecay { get; init; } = 0.01;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.98;
    public double Epsilon { get; init; } = 1e-6;
    /// <summary>Clip the global gradient norm to this; 0 turns clipping off.</summary>
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>Mixed precision, as the Hugging Face Trainer's <c>--bf16</c>: training forward passes run under bf16
    /// autocast; weights, gradients, optimizer state, the losses and evaluation stay float32.</summary>
    public bool Bf16 { get; init; }

    public void Validate()
    {
        if (!(LearningRate > 0)) throw new ArgumentException($"the learning rate must be positive, got {LearningRate}");
        if (TotalSteps < 1) throw new ArgumentException($"the step count must be at least 1, got {TotalSteps}");
        if (WarmupSteps < 0 || WarmupSteps > TotalSteps) throw new ArgumentException($"warm-up must be within [0, {TotalSteps}] steps, got {WarmupSteps}");
        if (WeightDecay < 0) throw new ArgumentException($"weight decay must not be negative, got {WeightDecay}");
        if (MaxGradNorm < 0) throw new ArgumentException($"the gradient-norm limit must not be negative, got {MaxGradNorm}");
    }
}
