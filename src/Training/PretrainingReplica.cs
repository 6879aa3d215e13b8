using System.IO.Hashing;
using Cluster.Model.Configuration;
using Cluster.Model.Tasks;
using Cluster.Torch;
using Cluster.Torch.Optim;
using Cluster.Model.Encoder;
using Cluster.Model.RoCBert;
using Cluster.Training.Batching;
using Cluster.Training.Masking;
using Cluster.Training.Reduction;
using static Cluster.Torch.torch.nn;
using F = Cluster.Torch.torch.nn.functional;

namespace Cluster.Training;

/// <summary>What one optimizer step did, after the reduction: the loss (the mean masked-LM loss over every masked token
/// of the global batch; for RoCBert's objective, that over every token plus the contrastive loss), the number of tokens
/// the masked-LM loss averages, the gradient norm before clipping, the learning rate used, and RoCBert's contrastive
/// loss alone (NaN for the masked-LM objective).</summary>
public readonly record struct StepResult(double Loss, long MaskedTokens, double GradientNorm, double LearningRate, double ContrastiveLoss = double.NaN)
{
    /// <summary>The step's gradient reduction: its time, and the part of it not hidden behind backward.</summary>
    public ReductionTiming Reduction { get; init; }
}

/// <summary>What a replica learns: masked LM (RoBERTa, or RoCBert without its attacks), or RoCBert's recipe: masked LM
/// over every token plus the contrastive loss between each sentence, its original and its attacked copy.</summary>
public enum PretrainingObjective { MaskedLM, RoCBertContrastive }

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

    PretrainingReplica(TaskModel model, OptimizerSettings settings, Device device, PretrainingObjective objective)
    {
        (Model, _settings, Device, Objective) = (model, settings, device, objective);
        _parameters = model.Module.named_parameters().Where(np => np.parameter.requires_grad).ToArray();
        Optimizer = new AdamW(AdamW.GroupsWithoutDecayOnBiasAndNorm(model.Module, settings.LearningRate, settings.WeightDecay),
            settings.Beta1, settings.Beta2, settings.Epsilon);
        Scheduler = LRScheduler.LinearWithWarmup(Optimizer, settings.WarmupSteps, settings.TotalSteps);
        GradientElements = _parameters.Sum(p => p.Parameter.numel()) + TailElements;
    }

    /// <summary>After the gradients: the loss sum, the masked-LM token count and the contrastive loss sum.</summary>
    const int TailElements = 3;

    public TaskModel Model { get; }
    public AdamW Optimizer { get; }
    public LRScheduler Scheduler { get; }
    public Device Device { get; }
    public PretrainingObjective Objective { get; }
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters => _parameters;
    /// <summary>The flat buffer's length: every trainable parameter, then the loss sum, the masked-token count and the
    /// contrastive loss sum.</summary>
    public long GradientElements { get; }
    /// <summary>Optimizer steps taken.</summary>
    public long Step => Scheduler.last_step;

    /// <summary>A fresh model initialised from <paramref name="seed"/>: RobertaForMaskedLM or RoCBertForMaskedLM, or for
    /// RoCBert's objective RoCBertForPreTraining (the same weights and a pooler).</summary>
    public static PretrainingReplica Create(PretrainedConfig config, ulong seed, OptimizerSettings settings, Device device,
                                            PretrainingObjective objective = PretrainingObjective.MaskedLM)
    {
        settings.Validate();
        if (objective == PretrainingObjective.RoCBertContrastive && config is not RoCBertConfig)
            throw new ArgumentException($"the contrastive objective is RoCBert's; the config is {config.model_type}");
        TaskModel model;
        lock (InitializationLock)
        {
            torch.manual_seed(seed);
            model = TaskModel.Create(config, objective == PretrainingObjective.RoCBertContrastive ? Head.PreTraining : Head.MaskedLM);
        }
        try
        {
            if (device != Device.CPU) model.Module.to(device);
            model.Module.train();
            return new PretrainingReplica(model, settings, device, objective);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Forward and backward of one micro-batch; its gradients add to those already accumulated.
    /// Returns the sum of its token losses, which <paramref name="beforeBackward"/> also gets, between the two (a
    /// bucketed reduction starts there).</summary>
    public double Accumulate(MlmBatch batch, Action<double>? beforeBackward = null)
    {
        using var scope = torch.NewDisposeScope();
        var (inputs, labels) = batch.ToTensors(Device);
        var logits = Model.Run(inputs)["logits"];
        var loss = F.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1), reduction: Cluster.Torch.Reduction.Sum);
        double lossSum = loss.item<float>();
        beforeBackward?.Invoke(lossSum);
        loss.backward();
        return lossSum;
    }

    /// <summary>
    /// Forward and backward of one RoCBert micro-batch; its gradients add to those accumulated. The contrastive loss
    /// takes its negatives from the whole group: every replica's attacked copies are gathered (a sum of zero-padded
    /// slices), each sentence and its original must pick out their own copy among the <c>microRows</c> of all
    /// replicas, and the gradient with respect to the gathered copies is summed over the group and sent back through
    /// this replica's own (what an all-gather's backward does). So the step equals one replica's on the whole batch.
    /// The losses are scaled here, by the step's global token count and global rows, so the reduced gradients need no
    /// division. Returns the scaled masked-LM and contrastive losses and the width of the contrastive logits.
    /// </summary>
    public (double MaskedLM, double Contrastive, long LogitsWidth) AccumulateContrastive(ContrastiveBatch batch, IGradientReducer reducer,
        long stepLabelTokens, int stepRows, int rowOffset, int microRows)
    {
        if (Model.Module is not RoCBertForPreTraining m) throw new InvalidOperationException("the contrastive objective needs RoCBertForPreTraining");
        using var scope = torch.NewDisposeScope();
        var mask = batch.Tensor(batch.AttentionMask, Device);
        var labels = batch.Tensor(batch.Labels, Device);
        var input = m.roc_bert.forward(new EncoderInput(batch.Tensor(batch.InputIds, Device))
        {
            attention_mask = mask, input_shape_ids = batch.Tensor(batch.InputShapeIds, Device),
            input_pronunciation_ids = batch.Tensor(batch.InputPronunciationIds, Device),
        });
        var scores = m.cls.forward(input.last_hidden_state);
        var mlm = F.cross_entropy(scores.view(-1, scores.size(-1)), labels.view(-1), reduction: Cluster.Torch.Reduction.Sum);
        var original = m.roc_bert.forward(new EncoderInput(labels.masked_fill(labels.eq(DynamicMasking.IgnoreIndex), m.config.pad_token_id ?? 0))
        {
            attention_mask = mask, input_shape_ids = batch.Tensor(batch.LabelShapeIds, Device),
            input_pronunciation_ids = batch.Tensor(batch.LabelPronunciationIds, Device),
        });
        var attacked = m.roc_bert.forward(new EncoderInput(batch.Tensor(batch.AttackIds, Device))
        {
            attention_mask = mask, input_shape_ids = batch.Tensor(batch.AttackShapeIds, Device),
            input_pronunciation_ids = batch.Tensor(batch.AttackPronunciationIds, Device),
        });
        var pooled = F.normalize(input.pooler_output!, dim: -1);
        var originalPooled = F.normalize(original.pooler_output!, dim: -1);
        var attackPooled = F.normalize(attacked.pooler_output!, dim: -1);

        var copies = torch.zeros([microRows, attackPooled.size(1)], attackPooled.dtype, Device);
        copies.narrow(0, rowOffset, batch.Rows).copy_(attackPooled.detach());
        reducer.SumInPlace(copies);
        copies.requires_grad_();
        var own = torch.arange(rowOffset, rowOffset + batch.Rows, device: Device);
        var logits = pooled.matmul(copies.transpose(0, 1)) * 100;
        var contrastive = (F.cross_entropy(logits, own, reduction: Cluster.Torch.Reduction.Sum)
                           + F.cross_entropy(originalPooled.matmul(copies.transpose(0, 1)) * 100, own, reduction: Cluster.Torch.Reduction.Sum)) / 2;
        var (mlmScaled, contrastiveScaled) = (mlm / stepLabelTokens, contrastive / stepRows);
        (mlmScaled + contrastiveScaled).backward();

        var copiesGrad = copies.grad!;
        reducer.SumInPlace(copiesGrad);
        attackPooled.backward(copiesGrad.narrow(0, rowOffset, batch.Rows));
        return (mlmScaled.item<float>(), contrastiveScaled.item<float>(), logits.size(1));
    }

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
        double divisor = Objective == PretrainingObjective.RoCBertContrastive ? 1 : masked;
        var lr = Scheduler.get_last_lr();
        double norm = 0;
        if (masked > 0)
        {
            long at = 0;
            using (torch.no_grad())
                foreach (var (_, p) in _parameters)
                {
                    var n = p.numel();
                    var average = reduced.narrow(0, at, n).view(p.shape).div(divisor);
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
        return new StepResult(masked > 0 ? lossSum / divisor : double.NaN, masked, norm, lr,
            Objective == PretrainingObjective.RoCBertContrastive ? tail[2] : double.NaN);
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
