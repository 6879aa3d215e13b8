using System.IO.Hashing;
using Cluster.Model.Configuration;
using Cluster.Model.Tasks;
using Cluster.Torch;
using Cluster.Torch.Optim;
using Cluster.Training.Batching;
using static Cluster.Torch.torch.nn;
using F = Cluster.Torch.torch.nn.functional;

namespace Cluster.Training;

/// <summary>What one optimizer step did, after the reduction: the mean masked-LM loss over every masked token of the
/// global batch, their number, the gradient norm before clipping, and the learning rate used.</summary>
public readonly record struct StepResult(double Loss, long MaskedTokens, double GradientNorm, double LearningRate);

/// <summary>One data-parallel replica: a masked-LM model, its AdamW and schedule, and the flat gradient buffer that
/// is reduced across replicas once per optimizer step.
///
/// Gradients accumulate as the <i>sum</i> of token losses over the micro-batches; the buffer carries that sum's
/// gradients with the loss sum and the masked-token count appended, and after the reduction (a sum) everything is
/// divided by the global count. So N workers × batch B, or K micro-batches × B, give exactly the step that one
/// worker takes on N·B (or K·B) examples with the loss averaged over all their masked tokens. Every method runs on
/// the thread that owns the device.</summary>
public sealed class PretrainingReplica : IDisposable
{
    /// <summary>Serialises model creation in a process: it draws from libtorch's global generator.</summary>
    static readonly object InitializationLock = new();

    readonly (string Name, Parameter Parameter)[] _parameters;
    readonly OptimizerSettings _settings;

    PretrainingReplica(TaskModel model, OptimizerSettings settings, Device device)
    {
        (Model, _settings, Device) = (model, settings, device);
        _parameters = model.Module.named_parameters().Where(np => np.parameter.requires_grad).ToArray();
        Optimizer = new AdamW(AdamW.GroupsWithoutDecayOnBiasAndNorm(model.Module, settings.LearningRate, settings.WeightDecay),
            settings.Beta1, settings.Beta2, settings.Epsilon);
        Scheduler = LRScheduler.LinearWithWarmup(Optimizer, settings.WarmupSteps, settings.TotalSteps);
        GradientElements = _parameters.Sum(p => p.Parameter.numel()) + 2;
    }

    public TaskModel Model { get; }
    public AdamW Optimizer { get; }
    public LRScheduler Scheduler { get; }
    public Device Device { get; }
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters => _parameters;
    /// <summary>The flat buffer's length: every trainable parameter, then the loss sum and the masked-token count.</summary>
    public long GradientElements { get; }
    /// <summary>Optimizer steps taken.</summary>
    public long Step => Scheduler.last_step;

    /// <summary>A fresh masked-LM model initialised from <paramref name="seed"/> (RobertaForMaskedLM, RoCBertForMaskedLM).</summary>
    public static PretrainingReplica Create(PretrainedConfig config, ulong seed, OptimizerSettings settings, Device device)
    {
        settings.Validate();
        TaskModel model;
        lock (InitializationLock)
        {
            torch.manual_seed(seed);
            model = TaskModel.Create(config, Head.MaskedLM);
        }
        try
        {
            if (device != Device.CPU) model.Module.to(device);
            model.Module.train();
            return new PretrainingReplica(model, settings, device);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Forward and backward of one micro-batch; its gradients add to those already accumulated.
    /// Returns the sum of its token losses.</summary>
    public double Accumulate(MlmBatch batch)
    {
        using var scope = torch.NewDisposeScope();
        var (inputs, labels) = batch.ToTensors(Device);
        var logits = Model.Run(inputs)["logits"];
        var loss = F.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1), reduction: Cluster.Torch.Reduction.Sum);
        loss.backward();
        return loss.item<float>();
    }

    /// <summary>The accumulated gradients, then <paramref name="lossSum"/> and <paramref name="maskedTokens"/>, in one
    /// float32 tensor on the device (the caller owns it); a parameter without a gradient contributes zeros.</summary>
    public Tensor PackGradients(double lossSum, long maskedTokens)
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
        flat.narrow(0, at, 1).fill_(lossSum);
        flat.narrow(0, at + 1, 1).fill_(maskedTokens);
        return flat;
    }

    /// <summary>Takes the optimizer step from a reduced buffer (summed over replicas): gradients divided by the global
    /// masked-token count, clipped, AdamW, the schedule's next rate; gradients are then cleared.</summary>
    public StepResult ApplyStep(Tensor reduced)
    {
        if (reduced.numel() != GradientElements) throw new ArgumentException($"a reduced buffer of {reduced.numel()} elements, this replica has {GradientElements}");
        using var scope = torch.NewDisposeScope();
        var tail = reduced.narrow(0, GradientElements - 2, 2).to(ScalarType.Float64).cpu().ToArray<double>();
        var (lossSum, masked) = (tail[0], (long)Math.Round(tail[1]));
        var lr = Scheduler.get_last_lr();
        double norm = 0;
        if (masked > 0)
        {
            long at = 0;
            using (torch.no_grad())
                foreach (var (_, p) in _parameters)
                {
                    var n = p.numel();
                    var average = reduced.narrow(0, at, n).view(p.shape).div(masked);
                    using var g = p.grad;
                    if (g is null) p.grad = average; else g.copy_(average);
                    at += n;
                }
            norm = _settings.MaxGradNorm > 0
                ? utils.clip_grad_norm_(_parameters.Select(p => p.Parameter), _settings.MaxGradNorm)
                : double.NaN;
            Optimizer.step();
        }
        Optimizer.zero_grad();
        Scheduler.step();
        return new StepResult(masked > 0 ? lossSum / masked : double.NaN, masked, norm, lr);
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
