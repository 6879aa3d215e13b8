using Cluster.Model.Configuration;
using Cluster.Torch;
using F = Cluster.Torch.torch.nn.functional;

namespace Cluster.Model.Encoder;

/// <summary>The losses HF's heads compute, with HF's conventions (-100 ignored, problem_type inference).</summary>
public static class Losses
{
    /// <summary>Token-level cross entropy over the last dimension; label -100 is ignored.</summary>
    public static Tensor TokenCrossEntropy(Tensor logits, Tensor labels) =>
        F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1));

    /// <summary>
    /// Sequence classification as HF: problem_type if set, else regression for one label,
    /// single-label for integer labels, multi-label otherwise.
    /// </summary>
    public static Tensor SequenceClassification(Tensor logits, Tensor labels, PretrainedConfig config)
    {
        int n = config.num_labels;
        var problem = config.problem_type ??
            (n == 1 ? "regression" : labels.dtype is ScalarType.Int64 or ScalarType.Int32 ? "single_label_classification" : "multi_label_classification");
        return problem switch
        {
            "regression" => n == 1
                ? F.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
                : F.mse_loss(logits, labels.to(logits.dtype)),
            "single_label_classification" => F.cross_entropy(logits.view(-1, n), labels.view(-1)),
            _ => F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype)),
        };
    }

    /// <summary>Span extraction: positions outside the sequence are clamped to T and ignored; the mean of start and end losses.</summary>
    public static Tensor SpanExtraction(Tensor startLogits, Tensor endLogits, Tensor startPositions, Tensor endPositions)
    {
        long ignored = startLogits.size(1);
        var s = startPositions.dim() > 1 ? startPositions.squeeze(-1) : startPositions;
        var e = endPositions.dim() > 1 ? endPositions.squeeze(-1) : endPositions;
        s = s.clamp(0, ignored);
        e = e.clamp(0, ignored);
        var startLoss = F.cross_entropy(startLogits, s, ignore_index: ignored);
        var endLoss = F.cross_entropy(endLogits, e, ignore_index: ignored);
        return (startLoss + endLoss) / 2;
    }
}
