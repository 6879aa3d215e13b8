namespace Cluster.Training;

/// <summary>One worker's part in a data-parallel job, pretraining or fine-tuning: a replica on its device thread, in
/// its group. Every member runs on the device thread; the tasks complete when it is done.</summary>
public interface ITrainingSession : IAsyncDisposable
{
    /// <summary>The optimizer step the replica stands at (the checkpoint's, or 0).</summary>
    long Step { get; }
    ulong WeightChecksum { get; }
    /// <summary>Trains step <paramref name="step"/>: the step's result and the real tokens this worker trained on.</summary>
    Task<(StepResult Result, long Tokens)> TrainStepAsync(long step);
    Task<string> SaveCheckpointAsync(long tokens, double loss);
    Task SaveModelAsync(string directory);
}
