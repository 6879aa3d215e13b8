using Cluster.Model.Checkpoints;
using Cluster.Model.Configuration;
using Cluster.Model.Encoder;
using Cluster.Model.Roberta;
using Cluster.Model.RoCBert;
using Cluster.Torch;
using static Cluster.Torch.torch.nn;

namespace Cluster.Model.Tasks;

/// <summary>
/// One model family with one head, built from a config or a model directory and run from tensors
/// named as Hugging Face's forward arguments, returning outputs under HF's names.
/// </summary>
public sealed class TaskModel : IDisposable
{
    private static readonly string[] BodyInputs = ["input_ids", "attention_mask", "token_type_ids", "position_ids", "head_mask"];
    private static readonly string[] MultimodalInputs = ["input_shape_ids", "input_pronunciation_ids"];
    private static readonly string[] DecoderInputs = ["encoder_hidden_states", "encoder_attention_mask"];
    private static readonly string[] SentenceFields = ["input_ids", "input_shape_ids", "input_pronunciation_ids", "attention_mask", "token_type_ids"];

    private TaskModel(Module module, PretrainedConfig config, Head head) => (Module, Config, Head) = (module, config, head);

    public Module Module { get; }
    public PretrainedConfig Config { get; }
    public Head Head { get; }

    public string BasePrefix => Config is RoCBertConfig ? "roc_bert" : "roberta";

    /// <summary>Hugging Face's class name, written to config.json's architectures.</summary>
    public string Architecture => Module.GetType().Name;

    public static TaskModel Create(PretrainedConfig config, Head head)
    {
        config.Validate();
        Module module = (config, head) switch
        {
            (RobertaConfig c, Head.Base) => new RobertaModel(c),
            (RobertaConfig c, Head.MaskedLM) => new RobertaForMaskedLM(c),
            (RobertaConfig c, Head.CausalLM) => new RobertaForCausalLM(c),
            (RobertaConfig c, Head.SequenceClassification) => new RobertaForSequenceClassification(c),
            (RobertaConfig c, Head.TokenClassification) => new RobertaForTokenClassification(c),
            (RobertaConfig c, Head.QuestionAnswering) => new RobertaForQuestionAnswering(c),
            (RobertaConfig c, Head.MultipleChoice) => new RobertaForMultipleChoice(c),
            (RoCBertConfig c, Head.Base) => new RoCBertModel(c),
            (RoCBertConfig c, Head.MaskedLM) => new RoCBertForMaskedLM(c),
            (RoCBertConfig c, Head.CausalLM) => new RoCBertForCausalLM(c),
            (RoCBertConfig c, Head.SequenceClassification) => new RoCBertForSequenceClassification(c),
            (RoCBertConfig c, Head.TokenClassification) => new RoCBertForTokenClassification(c),
            (RoCBertConfig c, Head.QuestionAnswering) => new RoCBertForQuestionAnswering(c),
            (RoCBertConfig c, Head.MultipleChoice) => new RoCBertForMultipleChoice(c),
            (RoCBertConfig c, Head.PreTraining) => new RoCBertForPreTraining(c),
            _ => throw new ArgumentException($"head {head.Name()} does not exist for model_type {config.model_type}"),
        };
        return new TaskModel(module, config, head);
    }

    /// <summary>
    /// Builds the head and loads a model directory into it. As from_pretrained, a head the checkpoint
    /// lacks keeps its fresh initialisation; <paramref name="loaded"/> lists such keys. A head saved on a frozen
    /// encoder (config.json's encoder_reference) loads that encoder first, checked by hash.
    /// </summary>
    public static TaskModel FromPretrained(string dir, Head head, out LoadResult loaded, Device? device = null, ScalarType? dtype = null)
    {
        var config = Pretrained.LoadConfig(dir);
        var reference = EncoderReference.Of(config);
        config.extra.Remove(EncoderReference.ConfigKey);
        var model = Create(config, head);
        try
        {
            loaded = reference is null
                ? Pretrained.LoadWeights(model.Module, dir, model.BasePrefix, device, dtype, allowNewHead: true)
                : reference.Load(model.Module, dir, model.BasePrefix, device, dtype);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The input names this head accepts.</summary>
    public IReadOnlyList<string> Inputs
    {
        get
        {
            var names = new List<string>(BodyInputs);
            if (Config is RoCBertConfig) names.AddRange(MultimodalInputs);
            if (Config.is_decoder && Head is Head.Base or Head.CausalLM) names.AddRange(DecoderInputs);
            switch (Head)
            {
                case Head.QuestionAnswering: names.AddRange(["start_positions", "end_positions"]); break;
                case Head.PreTraining:
                    names.AddRange(SentenceFields.Select(f => "labels_" + f));
                    names.AddRange(SentenceFields.Select(f => "attack_" + f));
                    break;
                case not Head.Base: names.Add("labels"); break;
            }
            return names;
        }
    }

    /// <summary>Runs the head in its current mode; the outputs belong to the caller's DisposeScope.</summary>
    public OrderedDictionary<string, Tensor> Run(IReadOnlyDictionary<string, Tensor> inputs)
    {
        var accepted = Inputs;
        foreach (var name in inputs.Keys)
            if (!accepted.Contains(name))
                throw new ArgumentException($"{Architecture} takes no input '{name}' (it takes {string.Join(", ", accepted)})");
        if (!inputs.ContainsKey("input_ids")) throw new ArgumentException("input_ids is required");
        Tensor? Get(string name) => inputs.TryGetValue(name, out var t) ? t : null;
        var body = new EncoderInput(inputs["input_ids"])
        {
            attention_mask = Get("attention_mask"), token_type_ids = Get("token_type_ids"), position_ids = Get("position_ids"),
            head_mask = Get("head_mask"), input_shape_ids = Get("input_shape_ids"), input_pronunciation_ids = Get("input_pronunciation_ids"),
            encoder_hidden_states = Get("encoder_hidden_states"), encoder_attention_mask = Get("encoder_attention_mask"),
        };
        var labels = Get("labels");
        var outputs = new OrderedDictionary<string, Tensor>();
        void Put(string name, Tensor? t)
        {
            if (t is not null) outputs[name] = t;
        }
        switch (Module)
        {
            case RobertaModel m: Base(m.forward(body)); break;
            case RoCBertModel m: Base(m.forward(body)); break;
            case RobertaForMaskedLM m: Logits(m.forward(body, labels)); break;
            case RoCBertForMaskedLM m: Logits(m.forward(body, labels)); break;
            case RobertaForCausalLM m: Logits(m.forward(body, labels)); break;
            case RoCBertForCausalLM m: Logits(m.forward(body, labels)); break;
            case RobertaForSequenceClassification m: Logits(m.forward(body, labels)); break;
            case RoCBertForSequenceClassification m: Logits(m.forward(body, labels)); break;
            case RobertaForTokenClassification m: Logits(m.forward(body, labels)); break;
            case RoCBertForTokenClassification m: Logits(m.forward(body, labels)); break;
            case RobertaForMultipleChoice m: Logits(m.forward(body, labels)); break;
            case RoCBertForMultipleChoice m: Logits(m.forward(body, labels)); break;
            case RobertaForQuestionAnswering m: Span(m.forward(body, Get("start_positions"), Get("end_positions"))); break;
            case RoCBertForQuestionAnswering m: Span(m.forward(body, Get("start_positions"), Get("end_positions"))); break;
            case RoCBertForPreTraining m:
                Logits(m.forward(new RoCBertPreTrainingInput(body)
                {
                    labels_input_ids = Get("labels_input_ids"), labels_input_shape_ids = Get("labels_input_shape_ids"),
                    labels_input_pronunciation_ids = Get("labels_input_pronunciation_ids"), labels_attention_mask = Get("labels_attention_mask"),
                    labels_token_type_ids = Get("labels_token_type_ids"), attack_input_ids = Get("attack_input_ids"),
                    attack_input_shape_ids = Get("attack_input_shape_ids"), attack_input_pronunciation_ids = Get("attack_input_pronunciation_ids"),
                    attack_attention_mask = Get("attack_attention_mask"), attack_token_type_ids = Get("attack_token_type_ids"),
                }));
                break;
            default: throw new InvalidOperationException($"no runner for {Architecture}");
        }
        return outputs;

        void Base(BaseModelOutput o)
        {
            Put("last_hidden_state", o.last_hidden_state);
            Put("pooler_output", o.pooler_output);
        }
        void Logits(HeadOutput o)
        {
            Put("loss", o.loss);
            Put("logits", o switch
            {
                MaskedLMOutput x => x.logits, CausalLMOutput x => x.logits, SequenceClassifierOutput x => x.logits,
                TokenClassifierOutput x => x.logits, MultipleChoiceModelOutput x => x.logits, _ => null,
            });
        }
        void Span(QuestionAnsweringModelOutput o)
        {
            Put("loss", o.loss);
            Put("start_logits", o.start_logits);
            Put("end_logits", o.end_logits);
        }
    }

    /// <summary>Writes an HF model directory with this model's class in config.json's architectures.</summary>
    public void SavePretrained(string dir, string? tokenizerDir = null)
    {
        Config.extra["architectures"] = System.Text.Json.JsonSerializer.SerializeToElement(new[] { Architecture });
        Pretrained.Save(Module, Config, dir, tokenizerDir);
    }

    /// <summary>Writes the head alone, referencing the encoder directory it runs on (see <see cref="EncoderReference"/>).</summary>
    public void SaveHead(string dir, EncoderReference encoder, string? tokenizerDir = null)
    {
        Config.extra["architectures"] = System.Text.Json.JsonSerializer.SerializeToElement(new[] { Architecture });
        encoder.SaveHead(Module, Config, BasePrefix, dir, tokenizerDir);
    }

    public void Dispose() => Module.Dispose();
}
