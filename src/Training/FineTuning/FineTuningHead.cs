using Cluster.Model.Tasks;
using Cluster.Torch;
using F = Cluster.Torch.torch.nn.functional;

namespace Cluster.Training.FineTuning;

/// <summary>What a fine-tuning head computes beyond the model's forward: its loss as a sum with the item count it
/// averages over (see <see cref="FineTuningReplica"/>), and its scores per feature for evaluation.</summary>
public static class FineTuningHead
{
    /// <summary>The head's loss over <paramref name="batch"/> as a sum, and how many items it sums.</summary>
    public static (Tensor Sum, long Items) Loss(HeadSpec spec, IReadOnlyDictionary<string, Tensor> outputs, FineTuningBatch batch, Device device)
    {
        var rows = batch.Features.Length;
        switch (spec.Head)
        {
            case Head.SequenceClassification when spec.Problem == ProblemType.Regression:
                return (F.mse_loss(outputs["logits"].view(rows, -1), batch.Targets(device), Cluster.Torch.Reduction.Sum), rows * (long)spec.Labels.Count);
            case Head.SequenceClassification when spec.Problem == ProblemType.MultiLabel:
                return (F.binary_cross_entropy_with_logits(outputs["logits"], batch.Targets(device), reduction: Cluster.Torch.Reduction.Sum), rows * (long)spec.Labels.Count);
            case Head.SequenceClassification or Head.MultipleChoice:
                return (F.cross_entropy(outputs["logits"], batch.ClassIds(device), reduction: Cluster.Torch.Reduction.Sum), rows);
            case Head.TokenClassification:
                var logits = outputs["logits"];
                var labels = batch.TokenLabelTensor(device).view(-1);
                return (F.cross_entropy(logits.view(-1, logits.size(-1)), labels, reduction: Cluster.Torch.Reduction.Sum),
                        batch.TokenLabels!.Count(l => l != FeatureEncoder.IgnoreIndex));
            case Head.QuestionAnswering:
                var (start, end) = batch.Positions(device);
                var sum = (F.cross_entropy(outputs["start_logits"], start, reduction: Cluster.Torch.Reduction.Sum)
                           + F.cross_entropy(outputs["end_logits"], end, reduction: Cluster.Torch.Reduction.Sum)) / 2;
                return (sum, rows);
            default: throw new InvalidOperationException($"no fine-tuning loss for {spec.Head.Name()}");
        }
    }

    /// <summary>Runs <paramref name="batch"/> in eval mode (no dropout, no gradients; the model's mode is restored after): each feature's scores (see
    /// <see cref="FeatureScores"/>) and the batch's loss sum and item count.</summary>
    /// <param name="withLoss">false for features without labels: only the scores</param>
    public static (FeatureScores[] Scores, double LossSum, long Items) Predict(TaskModel model, HeadSpec spec, FineTuningBatch batch, Device device,
                                                                             bool withLoss = true)
    {
        using var scope = torch.NewDisposeScope();
        var training = model.Module.training;
        model.Module.eval();
        try
        {
            using var noGrad = torch.no_grad();
            var outputs = model.Run(batch.ToTensors(device));
            var (loss, items) = withLoss ? Loss(spec, outputs, batch, device) : (null, 0L);
            var scores = spec.Head == Head.QuestionAnswering
                ? Rows(outputs["start_logits"]).Zip(Rows(outputs["end_logits"]), (s, e) => new FeatureScores(s, e)).ToArray()
                : Rows(outputs["logits"]).Select(s => new FeatureScores(s)).ToArray();
            return (scores, loss?.item<float>() ?? 0, items);
        }
        finally { model.Module.train(training); }

        float[][] Rows(Tensor t)
        {
            var flat = t.to(ScalarType.Float32).cpu().contiguous().ToArray<float>();
            var width = flat.Length / batch.Features.Length;
            return Enumerable.Range(0, batch.Features.Length).Select(i => flat.AsSpan(i * width, width).ToArray()).ToArray();
        }
    }
}
