using System.IO.Hashing;
using Cluster.Model.Tasks;
using Cluster.Torch;
using Cluster.Torch.Optim;
using Cluster.Training.Reduction;
using static Cluster.Torch.torch.nn;

namespace Cluster.Training;

/// <summary>One data-parallel replica: a model with a head, its AdamW and schedule, and the flat gradient buffer that
/// is reduced across replicas once per optimizer step.
///
/// Gradients accumulate as the <i>sum</i> of per-item losses (tokens, rows or label decisions) over the
/// micro-batches; the buffer carries that sum's gradients with the loss sum and the item count appended, and after the
/// reduction (a sum) everything is divided by the global count. So N workers × batch B, or K micro-batches × B, give
/// exactly the step that one worker takes on N·B (or K·B) examples with the loss averaged over all their items. Every
/// method runs on the thread that owns the device.</summary>
public abstract class DataParallelReplica : IDisposable
{
    readonly (string Name, Parameter Parameter)[] _parameters;
    readonly OptimizerSettings _settings;
    readonly long[] _sizes; // each trainable parameter's elements, in the flat layout's order

    protected DataParallelReplica(TaskModel model, OptimizerSettings settings, Device device)
    {
        (Model, _settings, Device) = (model, settings, device);
        _parameters = model.Module.named_parameters().Where(np => np.parameter.requires_grad).ToArray();
        Optimizer = new AdamW(AdamW.GroupsWithoutDecayOnBiasAndNorm(model.Module, settings.LearningRate, settings.WeightDecay),
            settings.Beta1, settings.Beta2, settings.Epsilon);
        Scheduler = LRScheduler.LinearWithWarmup(Optimizer, settings.WarmupSteps, settings.TotalSteps);
        // The trainable parameters become views of one buffer laid out as the reduced gradients are, so the step is a
        // few kernels over that buffer instead of a few per parameter (the model is on its device by now).
        Optimizer.flatten(_parameters.Select(p => p.Parameter).ToList());
        _sizes = _parameters.Select(p => p.Parameter.numel()).ToArray();
        GradientElements = _sizes.Sum() + TailElements;
    }

    /// <summary>After the gradients: the loss sum, the item count and the contrastive loss sum.</summary>
    const int TailElements = 3;

    public TaskModel Model { get; }
    public AdamW Optimizer { get; }
    public LRScheduler Scheduler { get; }
    public Device Device { get; }
    /// <summary>The parameters that train (a frozen encoder's are not among them).</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters => _parameters;
    /// <summary>The flat buffer's length: every trainable parameter, then the loss sum, the item count and the
    /// contrastive loss sum.</summary>
    public long GradientElements { get; }
    /// <summary>Optimizer steps taken.</summary>
    public long Step => Scheduler.last_step;

    /// <summary>A training forward pass: under bf16 autocast when the settings ask for mixed precision, with the outputs
    /// then made float32 for the losses (autocast's float32 rule for them on CUDA, applied on every device).</summary>
    protected OrderedDictionary<string, Tensor> Forward(IReadOnlyDictionary<string, Tensor> inputs)
    {
        if (!_settings.Bf16) return Model.Run(inputs);
        OrderedDictionary<string, Tensor> outputs;
        using (torch.autocast(Device, ScalarType.BFloat16)) outputs = Model.Run(inputs);
        var converted = new OrderedDictionary<string, Tensor>();
        foreach (var (name, t) in outputs) converted[name] = t.dtype.IsFloatingPoint() ? t.to(ScalarType.Float32) : t;
        return converted;
    }

    /// <summary>bf16 autocast on this replica's device when the settings ask for mixed precision; else null (nothing
    /// to dispose). Backward runs outside it, as PyTorch's recipe has it.</summary>
    protected IDisposable? ForwardPrecision() => _settings.Bf16 ? torch.autocast(Device, ScalarType.BFloat16) : null;

    /// <summary>The losses were divided by their global counts before backward: the step divides by nothing.</summary>
    protected virtual bool LossesArePreScaled => false;
    protected virtual bool ReportsContrastiveLoss => false;

    /// <summary>The accumulated gradients, then <paramref name="lossSum"/> and <paramref name="maskedTokens"/>, in one
    /// float32 tensor on the device (the caller owns it); a parameter without a gradient contributes zeros.</summary>
    public Tensor PackGradients(double lossSum, long maskedTokens, double contrastiveSum = 0)
    {
        var flat = torch.zeros([GradientElements], ScalarType.Float32, Device).DetachFromDisposeScope();
        using var scope = torch.NewDisposeScope();
        long at = 0;
        foreach (var (_, p) in _parameters)
        {
            var n = p.numel();
            using var g = p.grad;
            if (g is not null) flat.narrow(0, at, n).copy_(g.view(-1));
            at += n;
        }
        WriteTail(flat, lossSum, maskedTokens, contrastiveSum);
        return flat;
    }

    /// <summary>Writes the loss sum, the masked-token count and the contrastive loss sum after the gradients of a flat
    /// buffer (a bucketed reduction's, before its round begins).</summary>
    public void WriteTail(Tensor flat, double lossSum, long maskedTokens, double contrastiveSum = 0)
    {
        if (flat.numel() != GradientElements) throw new ArgumentException($"a flat buffer of {flat.numel()} elements, this replica has {GradientElements}");
        using var scope = torch.NewDisposeScope();
        var at = GradientElements - TailElements;
        flat.narrow(0, at, 1).fill_(lossSum);
        flat.narrow(0, at + 1, 1).fill_(maskedTokens);
        flat.narrow(0, at + 2, 1).fill_(contrastiveSum);
    }

    /// <summary>Takes the optimizer step from a reduced buffer (summed over replicas): gradients divided by the global
    /// masked-token count (RoCBert's objective scales its losses before backward, so there is nothing to divide),
    /// clipped, AdamW, the schedule's next rate; gradients are then cleared.</summary>
    public StepResult ApplyStep(Tensor reduced)
    {
        if (reduced.numel() != GradientElements) throw new ArgumentException($"a reduced buffer of {reduced.numel()} elements, this replica has {GradientElements}");
        using var scope = torch.NewDisposeScope();
        var tail = reduced.narrow(0, GradientElements - TailElements, TailElements).to(ScalarType.Float64).cpu().ToArray<double>();
        var (lossSum, masked) = (tail[0], (long)Math.Round(tail[1]));
        double divisor = LossesArePreScaled ? 1 : masked;
        var lr = Scheduler.get_last_lr();
        double norm = 0;
        if (masked > 0)
        {
            // In place: the buffer is this step's (refilled before the next), laid out as the flattened parameters.
            var gradients = reduced.narrow(0, 0, GradientElements - TailElements);
            if (divisor != 1) gradients.div_(divisor);
            norm = _settings.MaxGradNorm > 0 ? utils.clip_grad_norm_flat_(gradients, _sizes, _settings.MaxGradNorm) : double.NaN;
            Optimizer.step_flat(gradients);
        }
        Optimizer.zero_grad();
        Scheduler.step();
        return new StepResult(masked > 0 ? lossSum / divisor : double.NaN, masked, norm, lr,
            ReportsContrastiveLoss ? tail[2] : double.NaN);
    }

    /// <summary>Forward and backward of one micro-batch: returns its loss sum and item count, and calls the action it is
    /// given (when not null) with them between forward and backward.</summary>
    public delegate (double LossSum, long Items) MicroStep(int micro, Action<double, long>? beforeBackward);

    /// <summary>One optimizer step over <paramref name="microBatches"/> micro-batches: gradients accumulate, and are
    /// reduced once (the micro-batches before the last do not communicate, as DDP's no_sync): with
    /// <paramref name="buckets"/>, bucket by bucket while the last backward runs; else after it.</summary>
    public StepResult TrainStep(int microBatches, MicroStep accumulate, IGradientReducer reducer, BucketedReduction? buckets = null)
    {
        double lossSum = 0;
        long items = 0;
        for (var micro = 0; micro < microBatches; micro++)
        {
            if (buckets is null || micro < microBatches - 1)
            {
                var (loss, n) = accumulate(micro, null);
                (lossSum, items) = (lossSum + loss, items + n);
                continue;
            }
            try
            {
                // The tail (this step's loss sum and count) rides in the first bucket, so it is written before backward.
                accumulate(micro, (loss, n) =>
                {
                    WriteTail(buckets.Flat, lossSum + loss, items + n);
                    buckets.Begin();
                });
            }
            catch
            {
                buckets.Abandon();
                throw;
            }
            var timing = buckets.Complete();
            return ApplyStep(buckets.Flat) with { Reduction = timing };
        }
        using var flat = PackGradients(lossSum, items);
        return ReduceAndApply(flat, reducer);
    }

    /// <summary>Sums a packed buffer over the group, then steps from it.</summary>
    public StepResult ReduceAndApply(Tensor flat, IGradientReducer reducer)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        reducer.SumInPlace(flat);
        var timing = ReductionTiming.Unhidden(watch.Elapsed.TotalSeconds);
        return ApplyStep(flat) with { Reduction = timing };
    }

    /// <summary>Makes every replica hold rank 0's weights; returns this replica's checksum after (the coordinator
    /// compares them).</summary>
    public ulong SynchronizeWeights(IGradientReducer reducer)
    {
        using (torch.no_grad())
            foreach (var (_, p) in _parameters) reducer.Broadcast(p);
        return WeightChecksum();
    }

    /// <summary>CRC-64 of every parameter's bytes, in order: replicas that start identical have equal checksums.</summary>
    public ulong WeightChecksum()
    {
        var crc = new Crc64();
        using var scope = torch.NewDisposeScope();
        foreach (var (_, p) in _parameters) crc.Append(p.detach().cpu().contiguous().bytes());
        return crc.GetCurrentHashAsUInt64();
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        Model.Dispose();
    }
}
