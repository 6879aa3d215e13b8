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

/// <summary>A masked-LM replica (RobertaForMaskedLM, RoCBertForMaskedLM, or RoCBertForPreTraining for RoCBert's
/// contrastive recipe): gradients accumulate as the sum of token losses, and the step divides by the global masked-token
/// count (see <see cref="DataParallelReplica"/>). Every method runs on the thread that owns the device.</summary>
public sealed class PretrainingReplica : DataParallelReplica
{
    /// <summary>Serialises model creation in a process: it draws from libtorch's global generator.</summary>
    internal static readonly object InitializationLock = new();

    PretrainingReplica(TaskModel model, OptimizerSettings settings, Device device, PretrainingObjective objective)
        : base(model, settings, device) => Objective = objective;

    public PretrainingObjective Objective { get; }

    /// <summary>RoCBert's objective scales its losses before backward, so there is nothing to divide.</summary>
    protected override bool LossesArePreScaled => Objective == PretrainingObjective.RoCBertContrastive;
    protected override bool ReportsContrastiveLoss => Objective == PretrainingObjective.RoCBertContrastive;

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
        var logits = Forward(inputs)["logits"];
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
        // Under bf16 autocast when asked: the three encoder passes and the MLM head; the losses below in float32.
        Tensor scores, pooledInput, pooledOriginal, pooledAttacked;
        using (ForwardPrecision())
        {
            var input = m.roc_bert.forward(new EncoderInput(batch.Tensor(batch.InputIds, Device))
            {
                attention_mask = mask, input_shape_ids = batch.Tensor(batch.InputShapeIds, Device),
                input_pronunciation_ids = batch.Tensor(batch.InputPronunciationIds, Device),
            });
            scores = m.cls.forward(input.last_hidden_state).to(ScalarType.Float32);
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
            (pooledInput, pooledOriginal, pooledAttacked) = (input.pooler_output!.to(ScalarType.Float32),
                original.pooler_output!.to(ScalarType.Float32), attacked.pooler_output!.to(ScalarType.Float32));
        }
        var mlm = F.cross_entropy(scores.view(-1, scores.size(-1)), labels.view(-1), reduction: Cluster.Torch.Reduction.Sum);
        var pooled = F.normalize(pooledInput, dim: -1);
        var originalPooled = F.normalize(pooledOriginal, dim: -1);
        var attackPooled = F.normalize(pooledAttacked, dim: -1);

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
}
