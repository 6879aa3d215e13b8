using Cluster.Torch;
using Cluster.Training.Batching;
using Cluster.Training.Data;
using Cluster.Training.Masking;
using Cluster.Training.Reduction;

namespace Cluster.Training;

/// <summary>Where a worker stands in its group: its rank among <see cref="Workers"/>, and how many micro-batches of
/// <see cref="MicroBatch"/> examples it accumulates per step. Workers × Accumulation × MicroBatch is the global batch.</summary>
public sealed record WorkerLayout(int Rank, int Workers, int Accumulation, int MicroBatch)
{
    public int GlobalBatch => Workers * Accumulation * MicroBatch;
}

/// <summary>A replica at work in a data-parallel group: for each optimizer step it trains on its share of the global
/// batch (the plan says which examples), reduces the gradients once (accumulation micro-batches before the last do not
/// communicate, as DDP's no_sync), and steps. Runs on the device's thread.</summary>
public sealed class PretrainingWorker(PretrainingReplica replica, PretrainingExamples examples, DynamicMasking masking, GlobalBatchPlan plan, ulong seed, int padTokenId)
{
    public PretrainingReplica Replica { get; } = replica;
    public GlobalBatchPlan Plan { get; } = plan;

    /// <summary>Makes every replica hold rank 0's weights; returns this replica's checksum after (the coordinator compares them).</summary>
    public ulong SynchronizeWeights(IGradientReducer reducer)
    {
        using (torch.no_grad())
            foreach (var (_, p) in Replica.Parameters) reducer.Broadcast(p);
        return Replica.WeightChecksum();
    }

    /// <summary>One optimizer step: this worker's micro-batches of <paramref name="step"/>, one reduction, the update.</summary>
    public StepResult TrainStep(long step, WorkerLayout layout, IGradientReducer reducer) => TrainStep(step, layout, reducer, out _);

    /// <param name="tokens">the real (unpadded) tokens this worker trained on</param>
    public StepResult TrainStep(long step, WorkerLayout layout, IGradientReducer reducer, out long tokens)
    {
        tokens = 0;
        if (layout.GlobalBatch != Plan.GlobalBatch)
            throw new ArgumentException($"the layout's global batch {layout.GlobalBatch} is not the plan's {Plan.GlobalBatch}");
        double lossSum = 0;
        long masked = 0;
        for (var micro = 0; micro < layout.Accumulation; micro++)
        {
            var batch = MlmBatch.Build(examples, masking, seed, Plan.MicroBatch(step, layout.Rank, layout.Workers, micro, layout.MicroBatch), padTokenId);
            lossSum += Replica.Accumulate(batch);
            masked += batch.MaskedTokens;
            tokens += batch.RealTokens;
        }
        using var flat = Replica.PackGradients(lossSum, masked);
        reducer.SumInPlace(flat);
        return Replica.ApplyStep(flat);
    }
}
