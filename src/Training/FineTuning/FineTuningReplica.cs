using Cluster.Model.Checkpoints;
using Cluster.Model.Configuration;
using Cluster.Model.Tasks;
using Cluster.Torch;

namespace Cluster.Training.FineTuning;

/// <summary>What head a fine-tuning job puts on the encoder: the task, and for classification its label names (what
/// config.json then carries as id2label/label2id) and problem type.</summary>
public sealed record HeadSpec(Head Head, IReadOnlyList<string> Labels, ProblemType Problem = ProblemType.SingleLabel)
{
    public static readonly Head[] Tasks = [Head.SequenceClassification, Head.TokenClassification, Head.QuestionAnswering, Head.MultipleChoice];

    /// <summary>Writes the labels and problem type into a config, as run_glue and run_ner do before building the model.</summary>
    public void Configure(PretrainedConfig config)
    {
        if (!Tasks.Contains(Head)) throw new ArgumentException($"{Head.Name()} is not a fine-tuning task (known: {string.Join(", ", Tasks.Select(t => t.Name()))})");
        if (Head is Head.SequenceClassification or Head.TokenClassification)
        {
            if (Labels.Count < 1) throw new ArgumentException("a classification head needs at least one label");
            config.id2label = Labels.Select((name, i) => (name, i)).ToDictionary(l => l.i.ToString(System.Globalization.CultureInfo.InvariantCulture), l => l.name);
            config.label2id = Labels.Select((name, i) => (name, i)).ToDictionary(l => l.name, l => l.i);
        }
        if (Head == Head.SequenceClassification) config.problem_type = Problem.HfName();
    }
}

/// <summary>
/// A replica fine-tuning one head. Each micro-batch adds the gradients of its loss <i>sum</i>, and the step divides by
/// the group's item count, so the loss is the one Hugging Face's head computes over the whole global batch: cross
/// entropy per example (single-label, multiple choice), binary cross entropy per (example, label) (multi-label),
/// squared error per example (regression), cross entropy per labelled token (token classification), the mean of the
/// start and end cross entropies per window (question answering). With <c>freezeEncoder</c> only the head's
/// parameters train. Every method runs on the thread that owns the device.
/// </summary>
public sealed class FineTuningReplica : DataParallelReplica
{
    FineTuningReplica(TaskModel model, OptimizerSettings settings, Device device, HeadSpec spec, bool frozen)
        : base(model, settings, device) => (Spec, EncoderFrozen) = (spec, frozen);

    public HeadSpec Spec { get; }
    public bool EncoderFrozen { get; }

    /// <summary>The encoder of <paramref name="modelDirectory"/> (any head it was saved with) under a new head, which
    /// <paramref name="seed"/> initialises, so every replica builds the same one. With
    /// <paramref name="ignoreMismatchedSizes"/> a saved head of another shape (another label count) is replaced by the
    /// new one, as from_pretrained's ignore_mismatched_sizes does; without it that is an error naming the tensor.</summary>
    public static FineTuningReplica Create(string modelDirectory, HeadSpec spec, ulong seed, OptimizerSettings settings, Device device,
                                           bool freezeEncoder = false, Action<PretrainedConfig>? adjust = null, bool ignoreMismatchedSizes = false)
    {
        settings.Validate();
        var config = Pretrained.LoadConfig(modelDirectory);
        spec.Configure(config);
        adjust?.Invoke(config);
        TaskModel model;
        lock (PretrainingReplica.InitializationLock)
        {
            torch.manual_seed(seed);
            model = TaskModel.Create(config, spec.Head);
        }
        try
        {
            Pretrained.LoadWeights(model.Module, modelDirectory, model.BasePrefix, allowNewHead: true, ignoreMismatchedSizes: ignoreMismatchedSizes);
            if (freezeEncoder)
                foreach (var (name, p) in model.Module.named_parameters())
                    if (name.StartsWith(model.BasePrefix + ".", StringComparison.Ordinal)) p.requires_grad = false;
            if (device != Device.CPU) model.Module.to(device);
            model.Module.train();
            return new FineTuningReplica(model, settings, device, spec, freezeEncoder);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Saves the fine-tuned model: the whole of it, or with a frozen encoder the head alone with a reference to
    /// <paramref name="encoderDirectory"/> (the directory it was created from, whose weights it was trained on).</summary>
    public void Save(string directory, string encoderDirectory, string? tokenizerDirectory)
    {
        if (EncoderFrozen) Model.SaveHead(directory, EncoderReference.For(encoderDirectory), tokenizerDirectory);
        else Model.SavePretrained(directory, tokenizerDirectory);
    }

    /// <summary>Forward and backward of one micro-batch; its gradients add to those accumulated. Returns its loss sum
    /// and item count (<paramref name="beforeBackward"/> gets them too, between the two).</summary>
    public (double LossSum, long Items) Accumulate(FineTuningBatch batch, Action<double, long>? beforeBackward = null)
    {
        using var scope = torch.NewDisposeScope();
        var (loss, items) = FineTuningHead.Loss(Spec, Forward(batch.ToTensors(Device)), batch, Device);
        double lossSum = loss.item<float>();
        beforeBackward?.Invoke(lossSum, items);
        if (items > 0) loss.backward();
        return (lossSum, items);
    }

    /// <summary>Runs <paramref name="batch"/> in eval mode: see <see cref="FineTuningHead.Predict"/>.</summary>
    public (FeatureScores[] Scores, double LossSum, long Items) Predict(FineTuningBatch batch) => FineTuningHead.Predict(Model, Spec, batch, Device);
}

/// <summary>A feature's outputs on the host: its logits (classes; per choice; tokens × labels, row-major, over the
/// padded length) or, for question answering, the start logits with <see cref="EndLogits"/>.</summary>
public sealed record FeatureScores(float[] Logits, float[]? EndLogits = null);
