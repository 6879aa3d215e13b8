using Cluster.Training.Batching;
using Cluster.Training.Reduction;

namespace Cluster.Training.FineTuning;

/// <summary>A fine-tuning replica at work in a data-parallel group: each optimizer step trains on its share of the
/// global batch of training features (the plan says which; the stream runs epoch after epoch, each a permutation), with
/// one reduction per step. Runs on the device's thread.</summary>
public sealed class FineTuningWorker(FineTuningReplica replica, FineTuningTask task, GlobalBatchPlan plan)
{
    public FineTuningReplica Replica { get; } = replica;
    public FineTuningTask Task { get; } = task;
    public GlobalBatchPlan Plan { get; } = plan;

    /// <summary>Optimizer steps in <paramref name="epochs"/> passes over the training features (the last batch of the
    /// run may reach into the next epoch's permutation: every step is a full global batch).</summary>
    public static long StepsFor(int features, int globalBatch, double epochs) =>
        Math.Max(1, (long)Math.Ceiling(features * epochs / globalBatch));

    /// <param name="tokens">the real (unpadded) tokens this worker trained on</param>
    public StepResult TrainStep(long step, WorkerLayout layout, IGradientReducer reducer, out long tokens, BucketedReduction? buckets = null)
    {
        if (layout.GlobalBatch != Plan.GlobalBatch)
            throw new ArgumentException($"the layout's global batch {layout.GlobalBatch} is not the plan's {Plan.GlobalBatch}");
        long realTokens = 0;
        var result = Replica.TrainStep(layout.Accumulation, (micro, beforeBackward) =>
        {
            var picks = Plan.MicroBatch(step, layout.Rank, layout.Workers, micro, layout.MicroBatch);
            var batch = Task.Batch(picks.Select(p => Task.Train[p.Example]).ToArray());
            realTokens += batch.RealTokens;
            return Replica.Accumulate(batch, beforeBackward);
        }, reducer, buckets);
        tokens = realTokens;
        return result;
    }
}
