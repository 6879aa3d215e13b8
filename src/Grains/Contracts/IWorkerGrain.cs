namespace Cluster.Grains;

/// <summary>A worker's place in a job's group, and where the group meets: the coordinator's c10d TCPStore
/// (<c>collective</c>), or its reduction server (<c>coordinator</c>).</summary>
[GenerateSerializer, Immutable, Alias("cluster.WorkerAssignment")]
public sealed record WorkerAssignment(
    [property: Id(0)] TrainingJobSpec Spec,
    [property: Id(1)] int Rank,
    [property: Id(2)] int Workers,
    [property: Id(3)] int Accumulation,
    [property: Id(4)] string StoreHost,
    [property: Id(5)] int StorePort,
    /// <summary>A complete training checkpoint to start from, or null for fresh weights.</summary>
    [property: Id(6)] string? Checkpoint);

/// <summary>What a worker's replica holds after it joined its group: the step it starts at and its weights' checksum
/// (every replica's must equal rank 0's).</summary>
[GenerateSerializer, Immutable, Alias("cluster.WorkerReady")]
public sealed record WorkerReady([property: Id(0)] long Step, [property: Id(1)] ulong WeightChecksum);

/// <summary>A replica on one device (keyed by its <see cref="DeviceKey"/>, so it lives on that silo). All tensor work
/// runs on a thread the worker owns; the grain only queues commands to it.</summary>
[Alias("cluster.IWorkerGrain")]
public interface IWorkerGrain : IGrainWithStringKey
{
    /// <summary>Builds the replica (fresh or from the checkpoint), joins the group (every rank must call this at once),
    /// and takes rank 0's weights.</summary>
    [Alias("Join")]
    [ResponseTimeout("02:00:00")] // a step of a large model on a CPU takes minutes; a dead silo still fails the call at once
    Task<WorkerReady> Join(WorkerAssignment assignment);

    /// <summary>Trains optimizer step <paramref name="step"/> on this worker's share; the group's reduction inside.</summary>
    [Alias("TrainStep")]
    [ResponseTimeout("02:00:00")] // a step of a large model on a CPU takes minutes; a dead silo still fails the call at once
    Task<TrainingStepRecord> TrainStep(long step);

    [Alias("SaveCheckpoint")]
    [ResponseTimeout("02:00:00")] // a step of a large model on a CPU takes minutes; a dead silo still fails the call at once
    Task<string> SaveCheckpoint(long step, long tokens, double loss);

    /// <summary>A fine-tuning replica's metrics on the job's evaluation file, or with <paramref name="test"/> its test file.</summary>
    [Alias("Evaluate")]
    [ResponseTimeout("02:00:00")] // a step of a large model on a CPU takes minutes; a dead silo still fails the call at once
    Task<Dictionary<string, double>> Evaluate(bool test);

    /// <summary>Writes the trained model as a Hugging Face directory (config.json, model.safetensors, tokenizer files).</summary>
    [Alias("SaveModel")]
    [ResponseTimeout("02:00:00")] // a step of a large model on a CPU takes minutes; a dead silo still fails the call at once
    Task SaveModel(string directory);

    /// <summary>Frees the replica, the group and the thread; the grain deactivates.</summary>
    [Alias("Leave")]
    Task Leave();
}
