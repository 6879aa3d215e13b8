using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Cluster.Model.Configuration;

/// <summary>
/// The fields every Hugging Face config shares (PretrainedConfig), under HF's JSON names. Fields
/// this code does not model (architectures, transformers_version, …) are kept and written back.
/// </summary>
public abstract class PretrainedConfig
{
    public static readonly string[] ProblemTypes = ["regression", "single_label_classification", "multi_label_classification"];
    public static readonly string[] Activations = ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish", "tanh"];

    public abstract string model_type { get; }

    public int vocab_size { get; set; }
    public int hidden_size { get; set; } = 768;
    public int num_hidden_layers { get; set; } = 12;
    public int num_attention_heads { get; set; } = 12;
    public int intermediate_size { get; set; } = 3072;
    public string hidden_act { get; set; } = "gelu";
    public double hidden_dropout_prob { get; set; } = 0.1;
    public double attention_probs_dropout_prob { get; set; } = 0.1;
    public int max_position_embeddings { get; set; } = 512;
    public int type_vocab_size { get; set; } = 2;
    public double initializer_range { get; set; } = 0.02;
    public double layer_norm_eps { get; set; } = 1e-12;
    public string position_embedding_type { get; set; } = "absolute";
    public bool use_cache { get; set; } = true;
    public double? classifier_dropout { get; set; }
    public int? pad_token_id { get; set; }
    public int? bos_token_id { get; set; }
    public int? eos_token_id { get; set; }
    public bool is_decoder { get; set; }
    public bool add_cross_attention { get; set; }
    public bool tie_word_embeddings { get; set; } = true;
    public string? problem_type { get; set; }

    /// <summary>Label names by class index; its size is num_labels.</summary>
    public Dictionary<string, string> id2label { get; set; } = DefaultLabels(2);
    public Dictionary<string, int> label2id { get; set; } = DefaultLabels(2).ToDictionary(kv => kv.Value, kv => int.Parse(kv.Key));

    [JsonIgnore]
    public int num_labels
    {
        get => id2label.Count;
        set
        {
            if (value < 1) throw new ConfigException($"num_labels must be at least 1, got {value}");
            if (value > MaxLabels) throw new ConfigException($"num_labels {value} is over the limit of {MaxLabels}");
            if (value == id2label.Count) return;
            id2label = DefaultLabels(value);
            label2id = id2label.ToDictionary(kv => kv.Value, kv => int.Parse(kv.Key));
        }
    }

    [JsonIgnore] public int head_size => hidden_size / num_attention_heads;

    /// <summary>More labels than this is not a classifier (and would allocate their names before anything else).</summary>
    public const int MaxLabels = 1_000_000;

    /// <summary>The parameters of the encoder these fields describe (embeddings, layers, pooler), in 64-bit
    /// arithmetic; heads add comparatively little.</summary>
    [JsonIgnore]
    public virtual double EstimatedParameters
    {
        get
        {
            double h = hidden_size, i = intermediate_size;
            var embeddings = ((double)vocab_size + max_position_embeddings + type_vocab_size) * h;
            var layer = 4 * h * h + 2 * h * i + 9 * h + i;
            return embeddings + num_hidden_layers * layer + h * h;
        }
    }

    /// <summary>
    /// Peak bytes of one inference-mode forward pass over <paramref name="sequences"/> × <paramref name="tokens"/>:
    /// one layer's widest activation and its attention scores and probabilities (layers free theirs as they go), plus an
    /// output of <paramref name="outputWidth"/> numbers per token (vocab_size for language-model heads), in 64-bit
    /// floating point so absurd shapes cannot overflow.
    /// </summary>
    public double EstimatedInferenceBytes(long sequences, long tokens, long outputWidth)
    {
        double rows = (double)sequences * tokens;
        double layer = rows * Math.Max(intermediate_size, 4.0 * hidden_size) * 4;
        double attention = (double)sequences * num_attention_heads * tokens * tokens * 4 * 2;
        return layer + attention + rows * outputWidth * 4;
    }

    /// <summary>The most bytes a model may need before it is refused: CLUSTER_MAX_MODEL_BYTES when set, else the
    /// memory this process may use (its cgroup limit or the machine's RAM).</summary>
    public static long ModelBytesLimit =>
        long.TryParse(Environment.GetEnvironmentVariable("CLUSTER_MAX_MODEL_BYTES"), out var cap) && cap > 0
            ? cap : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>Whatever else config.json held, written back unchanged.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement> extra { get; set; } = new();

    private static Dictionary<string, string> DefaultLabels(int n) =>
        Enumerable.Range(0, n).ToDictionary(i => i.ToString(), i => $"LABEL_{i}");

    /// <summary>Throws <see cref="ConfigException"/> naming the first field that cannot describe a model.</summary>
    public virtual void Validate()
    {
        Positive(vocab_size, nameof(vocab_size));
        Positive(hidden_size, nameof(hidden_size));
        Positive(num_hidden_layers, nameof(num_hidden_layers));
        Positive(num_attention_heads, nameof(num_attention_heads));
        Positive(intermediate_size, nameof(intermediate_size));
        Positive(max_position_embeddings, nameof(max_position_embeddings));
        Positive(type_vocab_size, nameof(type_vocab_size));
        if (hidden_size % num_attention_heads != 0)
            throw new ConfigException($"hidden_size ({hidden_size}) is not a multiple of num_attention_heads ({num_attention_heads})");
        if (position_embedding_type is not ("absolute" or "relative_key" or "relative_key_query"))
            throw new ConfigException($"position_embedding_type '{position_embedding_type}' is not one of absolute, relative_key, relative_key_query");
        if (!Activations.Contains(hidden_act))
            throw new ConfigException($"hidden_act '{hidden_act}' is not one of {string.Join(", ", Activations)}");
        if (problem_type != null && !ProblemTypes.Contains(problem_type))
            throw new ConfigException($"problem_type '{problem_type}' is not one of {string.Join(", ", ProblemTypes)}");
        Probability(hidden_dropout_prob, nameof(hidden_dropout_prob));
        Probability(attention_probs_dropout_prob, nameof(attention_probs_dropout_prob));
        if (classifier_dropout is { } p) Probability(p, nameof(classifier_dropout));
        if (pad_token_id is { } pad && (pad < 0 || pad >= vocab_size))
            throw new ConfigException($"pad_token_id ({pad}) is outside the vocabulary (vocab_size {vocab_size})");
        if (layer_norm_eps <= 0) throw new ConfigException($"layer_norm_eps must be positive, got {layer_norm_eps}");
        // Checked before anything is allocated: float32 weights with no gradients or optimizer state, and one
        // full-length sequence's activations (a huge max_position_embeddings is cheap in weights but not in attention).
        var weights = EstimatedParameters * 4;
        var bytes = weights + EstimatedInferenceBytes(1, max_position_embeddings, hidden_size);
        if (bytes > ModelBytesLimit)
            throw new ConfigException($"the config describes about {EstimatedParameters:0.###e0} parameters ({weights / (1L << 30):N1} GiB in float32; " +
                                      $"{bytes / (1L << 30):N1} GiB with one sequence of {max_position_embeddings} tokens), " +
                                      $"more than the {ModelBytesLimit / (double)(1L << 30):N1} GiB this process may use (CLUSTER_MAX_MODEL_BYTES sets the limit)");
    }

    protected static void Positive(int value, string field)
    {
        if (value <= 0) throw new ConfigException($"{field} must be positive, got {value}");
    }

    private static void Probability(double value, string field)
    {
        if (value is < 0 or > 1) throw new ConfigException($"{field} must be in [0, 1], got {value}");
    }

    // ---- config.json ----

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    /// <summary>Reads config.json; model_type picks the class. num_labels without id2label is honoured, as HF does.</summary>
    public static PretrainedConfig FromJson(string json, string source = "config.json")
    {
        JsonObject node;
        try
        {
            node = JsonNode.Parse(json) as JsonObject ?? throw new ConfigException($"{source}: not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{source}: invalid JSON ({e.Message})");
        }
        var type = node["model_type"] switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            var other => throw new ConfigException($"{source}: model_type must be a string, got {other.ToJsonString()}"),
        };
        PretrainedConfig config;
        try
        {
            config = type switch
            {
                "roberta" => node.Deserialize<RobertaConfig>(Json)!,
                "roc_bert" => node.Deserialize<RoCBertConfig>(Json)!,
                null => throw new ConfigException($"{source}: no model_type (expected roberta or roc_bert)"),
                _ => throw new ConfigException($"{source}: model_type '{type}' is not supported (expected roberta or roc_bert)"),
            };
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{source}: field {e.Path?.TrimStart('$', '.')} has the wrong type ({e.Message})");
        }
        config.extra.Remove("model_type");
        // num_labels is derived from id2label, so it is not a stored field: honour it only without id2label
        if (node["num_labels"] is { } n && node["id2label"] is null)
            config.num_labels = n is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out int labels)
                ? labels : throw new ConfigException($"{source}: num_labels must be an integer, got {n.ToJsonString()}");
        try { config.Validate(); }
        catch (ConfigException e) { throw new ConfigException($"{source}: {e.Message}"); }
        return config;
    }

    public static PretrainedConfig Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no config file at {path}", path);
        string text;
        try { text = File.ReadAllText(path, new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true)); }
        catch (System.Text.DecoderFallbackException) { throw new ConfigException($"{path}: not valid UTF-8"); }
        return FromJson(text, path);
    }

    public string ToJson()
    {
        var node = JsonSerializer.SerializeToNode(this, GetType(), Json)!.AsObject();
        node.Remove(nameof(model_type));
        var ordered = new JsonObject { ["model_type"] = model_type };
        foreach (var (key, value) in node) ordered[key] = value?.DeepClone();
        return ordered.ToJsonString(Json);
    }

    public void Save(string path) => File.WriteAllText(path, ToJson());
}
