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
/// <param name="attack">RoCBert's attack synthesis; required by the contrastive objective</param>
public sealed class PretrainingWorker(PretrainingReplica replica, PretrainingExamples examples, DynamicMasking masking, GlobalBatchPlan plan, ulong seed,
                                      int padTokenId, CharacterAttack? attack = null)
{
    public PretrainingReplica Replica { get; } = replica;
    public GlobalBatchPlan Plan { get; } = plan;
    /// <summary>How many attacked copies the last contrastive micro-batch's sentences chose among: the micro-batch's
    /// rows over the whole group.</summary>
    public long ContrastiveLogitsWidth { get; private set; }

    /// <summary>Makes every replica hold rank 0's weights; returns this replica's checksum after (the coordinator compares them).</summary>
    public ulong SynchronizeWeights(IGradientReducer reducer) => Replica.SynchronizeWeights(reducer);

    /// <summary>One optimizer step: this worker's micro-batches of <paramref name="step"/>, one reduction, the update.</summary>
    public StepResult TrainStep(long step, WorkerLayout layout, IGradientReducer reducer, BucketedReduction? buckets = null)
        => TrainStep(step, layout, reducer, out _, buckets);

    /// <param name="tokens">the real (unpadded) tokens this worker trained on</param>
    /// <param name="buckets">the reduction overlapped with the last micro-batch's backward (masked LM; RoCBert's
    /// contrastive step reduces after its backward, which the gathered copies split in two); null: after backward</param>
    public StepResult TrainStep(long step, WorkerLayout layout, IGradientReducer reducer, out long tokens, BucketedReduction? buckets = null)
    {
        tokens = 0;
        if (layout.GlobalBatch != Plan.GlobalBatch)
            throw new ArgumentException($"the layout's global batch {layout.GlobalBatch} is not the plan's {Plan.GlobalBatch}");
        if (Replica.Objective == PretrainingObjective.RoCBertContrastive) return TrainContrastiveStep(step, layout, reducer, out tokens);
        long realTokens = 0;
        var result = Replica.TrainStep(layout.Accumulation, (micro, beforeBackward) =>
        {
            var batch = MlmBatch.Build(examples, masking, seed, Plan.MicroBatch(step, layout.Rank, layout.Workers, micro, layout.MicroBatch), padTokenId);
            realTokens += batch.RealTokens;
            var loss = Replica.Accumulate(batch, beforeBackward is null ? null : l => beforeBackward(l, batch.MaskedTokens));
            return (loss, batch.MaskedTokens);
        }, reducer, buckets);
        tokens = realTokens;
        return result;
    }

    /// <summary>RoCBert's step: the micro-batches are built first, so the step's global token count (one small sum over
    /// the group) can scale the losses before backward; each micro-batch then gathers the group's attacked copies.</summary>
    StepResult TrainContrastiveStep(long step, WorkerLayout layout, IGradientReducer reducer, out long tokens)
    {
        var synthesis = attack ?? throw new InvalidOperationException("the contrastive objective needs RoCBert's attack synthesis");
        var batches = Enumerable.Range(0, layout.Accumulation)
            .Select(micro => ContrastiveBatch.Build(examples, masking, synthesis, seed, Plan.MicroBatch(step, layout.Rank, layout.Workers, micro, layout.MicroBatch), padTokenId))
            .ToArray();
        tokens = batches.Sum(b => b.LabelTokens);
        long stepTokens;
        using (torch.NewDisposeScope())
        {
            var count = torch.tensor(new float[] { tokens }, [1]).to(Replica.Device);   // exact below 2^24 tokens a step
            reducer.SumInPlace(count);
            stepTokens = (long)Math.Round(count.cpu().ToArray<float>()[0]);
        }
        double lossSum = 0, contrastiveSum = 0;
        foreach (var batch in batches)
        {
            (var mlm, var contrastive, ContrastiveLogitsWidth) = Replica.AccumulateContrastive(batch, reducer, stepTokens, layout.GlobalBatch,
                layout.Rank * layout.MicroBatch, layout.Workers * layout.MicroBatch);
            (lossSum, contrastiveSum) = (lossSum + mlm + contrastive, contrastiveSum + contrastive);
        }
        using var flat = Replica.PackGradients(lossSum, rank0Count(), contrastiveSum);
        return Replica.ReduceAndApply(flat, reducer);

        // The reduced buffer's count is a sum over the group: only rank 0 adds the step's (already global) count.
        long rank0Count() => layout.Rank == 0 ? stepTokens : 0;
    }
}
