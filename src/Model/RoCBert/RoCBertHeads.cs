using Cluster.Model.Configuration;
using Cluster.Model.Encoder;
using Cluster.Torch;
using static Cluster.Torch.torch.nn;
using F = Cluster.Torch.torch.nn.functional;

namespace Cluster.Model.RoCBert;

/// <summary>dense → hidden_act → LayerNorm (HF's RoCBertPredictionHeadTransform).</summary>
public sealed class RoCBertPredictionHeadTransform : Module
{
    public readonly Linear dense;
    public readonly LayerNorm LayerNorm;
    private readonly Func<Tensor, Tensor> act;

    public RoCBertPredictionHeadTransform(PretrainedConfig config)
    {
        dense = new Linear(config.hidden_size, config.hidden_size);
        LayerNorm = new LayerNorm(config.hidden_size, config.layer_norm_eps);
        act = Activation.Get(config.hidden_act);
        RegisterComponents();
    }

    public Tensor forward(Tensor x) => LayerNorm.call(act(dense.call(x)));
}

/// <summary>transform → decoder, the decoder tied to the word embeddings and its bias being <see cref="bias"/>.</summary>
public sealed class RoCBertLMPredictionHead : Module
{
    public readonly RoCBertPredictionHeadTransform transform;
    public readonly Linear decoder;
    public readonly Parameter bias;

    public RoCBertLMPredictionHead(PretrainedConfig config)
    {
        transform = new RoCBertPredictionHeadTransform(config);
        decoder = new Linear(config.hidden_size, config.vocab_size, hasBias: false);
        using (var scope = torch.NewDisposeScope()) bias = new Parameter(torch.zeros([config.vocab_size]));
        RegisterComponents();
        decoder.TieBias(bias);
    }

    public Tensor forward(Tensor x) => decoder.call(transform.forward(x));
}

/// <summary>HF's RoCBertOnlyMLMHead: the wrapper that puts the head under "cls.predictions".</summary>
public sealed class RoCBertOnlyMLMHead : Module
{
    public readonly RoCBertLMPredictionHead predictions;

    public RoCBertOnlyMLMHead(PretrainedConfig config)
    {
        predictions = new RoCBertLMPredictionHead(config);
        RegisterComponents();
    }

    public Tensor forward(Tensor x) => predictions.forward(x);
}

/// <summary>Common to the task models: the body under HF's prefix "roc_bert", HF init, and the tied decoder.</summary>
public abstract class RoCBertPreTrainedModel : Module
{
    public readonly RoCBertModel roc_bert;

    protected RoCBertPreTrainedModel(RoCBertConfig config, bool add_pooling_layer)
    {
        roc_bert = new RoCBertModel(config, add_pooling_layer);
    }

    public RoCBertConfig config => roc_bert.config;

    protected void Finish(RoCBertOnlyMLMHead? cls = null)
    {
        RegisterComponents();
        if (cls is not null && config.tie_word_embeddings) cls.predictions.decoder.Tie(roc_bert.embeddings.word_embeddings.weight);
        Initialization.Apply(this, config.initializer_range, initialized: roc_bert);
    }
}

/// <summary>The extra inputs of RoCBert pre-training: the target (label) sentence and the attacked one, HF's labels_* and attack_*.</summary>
public sealed record RoCBertPreTrainingInput(EncoderInput input)
{
    /// <summary>(B, T) masked-LM labels, -100 where nothing is predicted; with -100 read as padding, also the target sentence.</summary>
    public Tensor? labels_input_ids { get; init; }
    public Tensor? labels_input_shape_ids { get; init; }
    public Tensor? labels_input_pronunciation_ids { get; init; }
    public Tensor? labels_attention_mask { get; init; }
    public Tensor? labels_token_type_ids { get; init; }
    public Tensor? attack_input_ids { get; init; }
    public Tensor? attack_input_shape_ids { get; init; }
    public Tensor? attack_input_pronunciation_ids { get; init; }
    public Tensor? attack_attention_mask { get; init; }
    public Tensor? attack_token_type_ids { get; init; }
}

/// <summary>
/// Masked LM plus the contrastive loss: the pooled outputs of the input and of the target sentence
/// should each pick out the matching attacked sentence in the batch (cosine similarity × 100, cross entropy).
/// </summary>
public sealed class RoCBertForPreTraining : RoCBertPreTrainedModel
{
    public readonly RoCBertOnlyMLMHead cls;

    public RoCBertForPreTraining(RoCBertConfig config) : base(config, add_pooling_layer: true)
    {
        cls = new RoCBertOnlyMLMHead(config);
        Finish(cls);
    }

    public MaskedLMOutput forward(RoCBertPreTrainingInput p)
    {
        var o = roc_bert.forward(p.input);
        var scores = cls.forward(o.last_hidden_state);
        Tensor? loss = null;
        if (p.labels_input_ids is { } labels)
        {
            loss = Losses.TokenCrossEntropy(scores, labels);
            if (p.attack_input_ids is { } attackIds)
            {
                var target = labels.masked_fill(labels.eq(-100), config.pad_token_id ?? 0);
                var labelled = roc_bert.forward(new EncoderInput(target)
                {
                    input_shape_ids = p.labels_input_shape_ids, input_pronunciation_ids = p.labels_input_pronunciation_ids,
                    attention_mask = p.labels_attention_mask, token_type_ids = p.labels_token_type_ids,
                });
                var attacked = roc_bert.forward(new EncoderInput(attackIds)
                {
                    input_shape_ids = p.attack_input_shape_ids, input_pronunciation_ids = p.attack_input_pronunciation_ids,
                    attention_mask = p.attack_attention_mask, token_type_ids = p.attack_token_type_ids,
                });
                var pooled = F.normalize(o.pooler_output!, dim: -1);
                var target_pooled = F.normalize(labelled.pooler_output!, dim: -1);
                var attack_pooled = F.normalize(attacked.pooler_output!, dim: -1).transpose(0, 1);
                var batch = torch.arange(labels.size(0), device: labels.device);
                var contrastive = (F.cross_entropy(pooled.matmul(attack_pooled) * 100, batch) +
                                   F.cross_entropy(target_pooled.matmul(attack_pooled) * 100, batch)) / 2;
                loss = contrastive + loss;
            }
        }
        return new MaskedLMOutput(scores) { loss = loss }.From<MaskedLMOutput>(o);
    }
}

public sealed class RoCBertForMaskedLM : RoCBertPreTrainedModel
{
    public readonly RoCBertOnlyMLMHead cls;

    public RoCBertForMaskedLM(RoCBertConfig config) : base(config, add_pooling_layer: false)
    {
        cls = new RoCBertOnlyMLMHead(config);
        Finish(cls);
    }

    public MaskedLMOutput forward(EncoderInput input, Tensor? labels = null)
    {
        var o = roc_bert.forward(input);
        var logits = cls.forward(o.last_hidden_state);
        return new MaskedLMOutput(logits) { loss = labels is null ? null : Losses.TokenCrossEntropy(logits, labels) }.From<MaskedLMOutput>(o);
    }
}

public sealed class RoCBertForCausalLM : RoCBertPreTrainedModel
{
    public readonly RoCBertOnlyMLMHead cls;

    public RoCBertForCausalLM(RoCBertConfig config) : base(config, add_pooling_layer: false)
    {
        cls = new RoCBertOnlyMLMHead(config);
        Finish(cls);
    }

    public CausalLMOutput forward(EncoderInput input, Tensor? labels = null)
    {
        var o = roc_bert.forward(input);
        var logits = cls.forward(o.last_hidden_state);
        Tensor? loss = null;
        if (labels is not null)
        {
            long T = logits.size(1);
            loss = Losses.TokenCrossEntropy(logits.narrow(1, 0, T - 1), labels.narrow(1, 1, T - 1));
        }
        return new CausalLMOutput(logits) { loss = loss, past_key_values = o.past_key_values }.From<CausalLMOutput>(o);
    }
}

/// <summary>Classification from the pooled [CLS] vector (BERT-style, unlike RoBERTa's head).</summary>
public sealed class RoCBertForSequenceClassification : RoCBertPreTrainedModel
{
    public readonly Dropout dropout;
    public readonly Linear classifier;

    public RoCBertForSequenceClassification(RoCBertConfig config) : base(config, add_pooling_layer: true)
    {
        dropout = new Dropout(config.classifier_dropout ?? config.hidden_dropout_prob);
        classifier = new Linear(config.hidden_size, config.num_labels);
        Finish();
    }

    public SequenceClassifierOutput forward(EncoderInput input, Tensor? labels = null)
    {
        var o = roc_bert.forward(input);
        var logits = classifier.call(dropout.call(o.pooler_output!));
        var loss = labels is null ? null : Losses.SequenceClassification(logits, labels, config);
        return new SequenceClassifierOutput(logits) { loss = loss }.From<SequenceClassifierOutput>(o);
    }
}

public sealed class RoCBertForMultipleChoice : RoCBertPreTrainedModel
{
    public readonly Dropout dropout;
    public readonly Linear classifier;

    public RoCBertForMultipleChoice(RoCBertConfig config) : base(config, add_pooling_layer: true)
    {
        dropout = new Dropout(config.classifier_dropout ?? config.hidden_dropout_prob);
        classifier = new Linear(config.hidden_size, 1);
        Finish();
    }

    /// <param name="input">every id tensor and mask shaped (B, choices, T).</param>
    public MultipleChoiceModelOutput forward(EncoderInput input, Tensor? labels = null)
    {
        var (flat, C) = TaskInputs.FlattenChoices(input);
        var o = roc_bert.forward(flat);
        var logits = classifier.call(dropout.call(o.pooler_output!)).view(-1, C);
        var loss = labels is null ? null : F.cross_entropy(logits, labels);
        return new MultipleChoiceModelOutput(logits) { loss = loss }.From<MultipleChoiceModelOutput>(o);
    }
}

public sealed class RoCBertForTokenClassification : RoCBertPreTrainedModel
{
    public readonly Dropout dropout;
    public readonly Linear classifier;

    public RoCBertForTokenClassification(RoCBertConfig config) : base(config, add_pooling_layer: false)
    {
        dropout = new Dropout(config.classifier_dropout ?? config.hidden_dropout_prob);
        classifier = new Linear(config.hidden_size, config.num_labels);
        Finish();
    }

    public TokenClassifierOutput forward(EncoderInput input, Tensor? labels = null)
    {
        var o = roc_bert.forward(input);
        var logits = classifier.call(dropout.call(o.last_hidden_state));
        var loss = labels is null ? null : Losses.TokenCrossEntropy(logits, labels);
        return new TokenClassifierOutput(logits) { loss = loss }.From<TokenClassifierOutput>(o);
    }
}

public sealed class RoCBertForQuestionAnswering : RoCBertPreTrainedModel
{
    public readonly Linear qa_outputs;

    public RoCBertForQuestionAnswering(RoCBertConfig config) : base(config, add_pooling_layer: false)
    {
        qa_outputs = new Linear(config.hidden_size, config.num_labels);
        Finish();
    }

    public QuestionAnsweringModelOutput forward(EncoderInput input, Tensor? start_positions = null, Tensor? end_positions = null)
    {
        if (config.num_labels != 2) throw new ConfigException($"question answering needs num_labels 2 (start, end), got {config.num_labels}");
        var o = roc_bert.forward(input);
        return TaskInputs.Spans(qa_outputs.call(o.last_hidden_state), start_positions, end_positions).From<QuestionAnsweringModelOutput>(o);
    }
}
