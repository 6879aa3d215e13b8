using Cluster.Model.Configuration;
using Cluster.Model.Encoder;
using Cluster.Torch;
using static Cluster.Torch.torch.nn;
using F = Cluster.Torch.torch.nn.functional;

namespace Cluster.Model.Roberta;

/// <summary>dense → gelu → layer_norm → decoder, with the decoder tied to the word embeddings and its bias to <see cref="bias"/>.</summary>
public sealed class RobertaLMHead : Module
{
    public readonly Linear dense;
    public readonly LayerNorm layer_norm;
    public readonly Linear decoder;
    public readonly Parameter bias;

    public RobertaLMHead(PretrainedConfig config)
    {
        dense = new Linear(config.hidden_size, config.hidden_size);
        layer_norm = new LayerNorm(config.hidden_size, config.layer_norm_eps);
        decoder = new Linear(config.hidden_size, config.vocab_size);
        using (var scope = torch.NewDisposeScope()) bias = new Parameter(torch.zeros([config.vocab_size]));
        RegisterComponents();
        decoder.TieBias(bias);
    }

    public Tensor forward(Tensor features) => decoder.call(layer_norm.call(F.gelu(dense.call(features))));
}

/// <summary>Sentence classification from the first token: dropout → dense → tanh → dropout → out_proj.</summary>
public sealed class RobertaClassificationHead : Module
{
    public readonly Linear dense;
    public readonly Dropout dropout;
    public readonly Linear out_proj;

    public RobertaClassificationHead(PretrainedConfig config)
    {
        dense = new Linear(config.hidden_size, config.hidden_size);
        dropout = new Dropout(config.classifier_dropout ?? config.hidden_dropout_prob);
        out_proj = new Linear(config.hidden_size, config.num_labels);
        RegisterComponents();
    }

    public Tensor forward(Tensor features)
    {
        var x = dropout.call(features.select(1, 0));   // <s>
        x = dropout.call(dense.call(x).tanh());
        return out_proj.call(x);
    }
}

/// <summary>Common to the task models: the body under HF's prefix "roberta", HF init, and the tied decoder.</summary>
public abstract class RobertaPreTrainedModel : Module
{
    public readonly RobertaModel roberta;

    protected RobertaPreTrainedModel(RobertaConfig config, bool add_pooling_layer)
    {
        roberta = new RobertaModel(config, add_pooling_layer);
    }

    public RobertaConfig config => roberta.config;

    protected void Finish()
    {
        RegisterComponents();
        if (this is IHasLMHead lm && config.tie_word_embeddings) lm.lm_head.decoder.Tie(roberta.embeddings.word_embeddings.weight);
        Initialization.Apply(this, config.initializer_range, initialized: roberta);
    }

    protected BaseModelOutput Body(EncoderInput input) => roberta.forward(input);
}

internal interface IHasLMHead
{
    RobertaLMHead lm_head { get; }
}

public sealed class RobertaForMaskedLM : RobertaPreTrainedModel, IHasLMHead
{
    public RobertaForMaskedLM(RobertaConfig config) : base(config, add_pooling_layer: false)
    {
        lm_head = new RobertaLMHead(config);
        Finish();
    }

    public RobertaLMHead lm_head { get; }

    /// <param name="labels">(B, T) token ids to predict, -100 where nothing is predicted.</param>
    public MaskedLMOutput forward(EncoderInput input, Tensor? labels = null)
    {
        var o = Body(input);
        var logits = lm_head.forward(o.last_hidden_state);
        return new MaskedLMOutput(logits) { loss = labels is null ? null : Losses.TokenCrossEntropy(logits, labels) }.From<MaskedLMOutput>(o);
    }
}

public sealed class RobertaForCausalLM : RobertaPreTrainedModel, IHasLMHead
{
    public RobertaForCausalLM(RobertaConfig config) : base(config, add_pooling_layer: false)
    {
        lm_head = new RobertaLMHead(config);
        Finish();
    }

    public RobertaLMHead lm_head { get; }

    /// <param name="labels">(B, T) the input ids themselves: token t predicts token t + 1.</param>
    public CausalLMOutput forward(EncoderInput input, Tensor? labels = null)
    {
        var o = Body(input);
        var logits = lm_head.forward(o.last_hidden_state);
        Tensor? loss = null;
        if (labels is not null)
        {
            long T = logits.size(1);
            loss = Losses.TokenCrossEntropy(logits.narrow(1, 0, T - 1), labels.narrow(1, 1, T - 1));
        }
        return (new CausalLMOutput(logits) { loss = loss, past_key_values = o.past_key_values }).From<CausalLMOutput>(o);
    }
}

public sealed class RobertaForSequenceClassification : RobertaPreTrainedModel
{
    public readonly RobertaClassificationHead classifier;

    public RobertaForSequenceClassification(RobertaConfig config) : base(config, add_pooling_layer: false)
    {
        classifier = new RobertaClassificationHead(config);
        Finish();
    }

    /// <param name="labels">(B) class ids, (B) floats for regression, or (B, num_labels) 0/1 for multi-label.</param>
    public SequenceClassifierOutput forward(EncoderInput input, Tensor? labels = null)
    {
        var o = Body(input);
        var logits = classifier.forward(o.last_hidden_state);
        var loss = labels is null ? null : Losses.SequenceClassification(logits, labels, config);
        return (new SequenceClassifierOutput(logits) { loss = loss }).From<SequenceClassifierOutput>(o);
    }
}

public sealed class RobertaForMultipleChoice : RobertaPreTrainedModel
{
    public readonly Dropout dropout;
    public readonly Linear classifier;

    public RobertaForMultipleChoice(RobertaConfig config) : base(config, add_pooling_layer: true)
    {
        dropout = new Dropout(config.hidden_dropout_prob);
        classifier = new Linear(config.hidden_size, 1);
        Finish();
    }

    /// <param name="input">input_ids and masks shaped (B, choices, T).</param>
    /// <param name="labels">(B) index of the right choice.</param>
    public MultipleChoiceModelOutput forward(EncoderInput input, Tensor? labels = null)
    {
        var (flat, C) = TaskInputs.FlattenChoices(input);
        var o = Body(flat);
        var logits = classifier.call(dropout.call(o.pooler_output!)).view(-1, C);   // (B, C)
        var loss = labels is null ? null : F.cross_entropy(logits, labels);
        return (new MultipleChoiceModelOutput(logits) { loss = loss }).From<MultipleChoiceModelOutput>(o);
    }
}

public sealed class RobertaForTokenClassification : RobertaPreTrainedModel
{
    public readonly Dropout dropout;
    public readonly Linear classifier;

    public RobertaForTokenClassification(RobertaConfig config) : base(config, add_pooling_layer: false)
    {
        dropout = new Dropout(config.classifier_dropout ?? config.hidden_dropout_prob);
        classifier = new Linear(config.hidden_size, config.num_labels);
        Finish();
    }

    /// <param name="labels">(B, T) class ids, -100 for tokens without a label.</param>
    public TokenClassifierOutput forward(EncoderInput input, Tensor? labels = null)
    {
        var o = Body(input);
        var logits = classifier.call(dropout.call(o.last_hidden_state));
        var loss = labels is null ? null : Losses.TokenCrossEntropy(logits, labels);
        return (new TokenClassifierOutput(logits) { loss = loss }).From<TokenClassifierOutput>(o);
    }
}

public sealed class RobertaForQuestionAnswering : RobertaPreTrainedModel
{
    public readonly Linear qa_outputs;

    public RobertaForQuestionAnswering(RobertaConfig config) : base(config, add_pooling_layer: false)
    {
        qa_outputs = new Linear(config.hidden_size, config.num_labels);
        Finish();
    }

    /// <param name="start_positions">(B) token index where the answer starts; with end_positions gives the loss.</param>
    public QuestionAnsweringModelOutput forward(EncoderInput input, Tensor? start_positions = null, Tensor? end_positions = null)
    {
        if (config.num_labels != 2) throw new ConfigException($"question answering needs num_labels 2 (start, end), got {config.num_labels}");
        var o = Body(input);
        return TaskInputs.Spans(qa_outputs.call(o.last_hidden_state), start_positions, end_positions).From<QuestionAnsweringModelOutput>(o);
    }
}
