using Cluster.Torch;

namespace Cluster.Model.Encoder;

/// <summary>What every head can also return: per-layer hidden states and attention probabilities.</summary>
public abstract record HeadOutput
{
    public Tensor? loss { get; init; }
    public IReadOnlyList<Tensor>? hidden_states { get; init; }
    public IReadOnlyList<Tensor>? attentions { get; init; }
    public IReadOnlyList<Tensor>? cross_attentions { get; init; }

    /// <summary>This output with the body's optional hidden states and attentions attached.</summary>
    internal T From<T>(BaseModelOutput body) where T : HeadOutput =>
        (T)(this with { hidden_states = body.hidden_states, attentions = body.attentions, cross_attentions = body.cross_attentions });
}

public sealed record MaskedLMOutput(Tensor logits) : HeadOutput;

public sealed record CausalLMOutput(Tensor logits) : HeadOutput
{
    public KeyValueCache? past_key_values { get; init; }
}

public sealed record SequenceClassifierOutput(Tensor logits) : HeadOutput;

public sealed record TokenClassifierOutput(Tensor logits) : HeadOutput;

public sealed record MultipleChoiceModelOutput(Tensor logits) : HeadOutput;

public sealed record QuestionAnsweringModelOutput(Tensor start_logits, Tensor end_logits) : HeadOutput;
