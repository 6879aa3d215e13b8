using Cluster.Model.Configuration;
using Xunit;

namespace Cluster.Model.Tests;

public class ConfigTests
{
    [Fact]
    public void DefaultsAreHuggingFaces()
    {
        var r = new RobertaConfig();
        Assert.Equal((50265, 768, 12, 12, 3072, 512, 2), (r.vocab_size, r.hidden_size, r.num_hidden_layers, r.num_attention_heads,
            r.intermediate_size, r.max_position_embeddings, r.type_vocab_size));
        Assert.Equal((1, 0, 2), (r.pad_token_id, r.bos_token_id, r.eos_token_id));
        Assert.Equal(("gelu", "absolute", 1e-12, 0.02), (r.hidden_act, r.position_embedding_type, r.layer_norm_eps, r.initializer_range));
        Assert.True(r.use_cache);
        Assert.Null(r.classifier_dropout);
        Assert.Equal(2, r.num_labels);

        var c = new RoCBertConfig();
        Assert.Equal((30522, 0), (c.vocab_size, c.pad_token_id));
        Assert.Equal((768, 910, 512, 24858), (c.pronunciation_embed_dim, c.pronunciation_vocab_size, c.shape_embed_dim, c.shape_vocab_size));
        Assert.True(c.enable_pronunciation && c.enable_shape && c.concat_input);
    }

    [Fact]
    public void JsonRoundTripKeepsFieldsLabelsAndUnknownKeys()
    {
        const string json = """
            {"model_type": "roberta", "vocab_size": 100, "hidden_size": 64, "num_attention_heads": 4,
             "id2label": {"0": "neg", "1": "neu", "2": "pos"}, "label2id": {"neg": 0, "neu": 1, "pos": 2},
             "architectures": ["RobertaForSequenceClassification"], "transformers_version": "4.37.2",
             "problem_type": "single_label_classification"}
            """;
        var config = (RobertaConfig)PretrainedConfig.FromJson(json);
        Assert.Equal(100, config.vocab_size);
        Assert.Equal(3, config.num_labels);
        Assert.Equal("pos", config.id2label["2"]);
        var again = PretrainedConfig.FromJson(config.ToJson());
        Assert.Equal(config.ToJson(), again.ToJson());
        Assert.Contains("\"transformers_version\": \"4.37.2\"", again.ToJson());
        Assert.StartsWith("{\n  \"model_type\": \"roberta\"", again.ToJson());
    }

    [Fact]
    public void NumLabelsWithoutLabelNamesMakesDefaultNames()
    {
        var config = PretrainedConfig.FromJson("""{"model_type": "roc_bert", "num_labels": 4}""");
        Assert.IsType<RoCBertConfig>(config);
        Assert.Equal(4, config.num_labels);
        Assert.Equal("LABEL_3", config.id2label["3"]);
        Assert.Equal(3, config.label2id["LABEL_3"]);
    }

    [Theory]
    [InlineData("""{"model_type": "roberta", "hidden_size": 30, "num_attention_heads": 4}""", "hidden_size (30) is not a multiple of num_attention_heads (4)")]
    [InlineData("""{"model_type": "roberta", "position_embedding_type": "rotary"}""", "position_embedding_type 'rotary'")]
    [InlineData("""{"model_type": "roberta", "hidden_act": "mish"}""", "hidden_act 'mish'")]
    [InlineData("""{"model_type": "roberta", "problem_type": "ranking"}""", "problem_type 'ranking'")]
    [InlineData("""{"model_type": "bert"}""", "model_type 'bert' is not supported")]
    [InlineData("""{"vocab_size": 10}""", "no model_type")]
    [InlineData("""{"model_type": "roberta", "vocab_size": "many"}""", "vocab_size")]
    [InlineData("""{"model_type": "roberta", "num_hidden_layers": 0}""", "num_hidden_layers must be positive")]
    [InlineData("not json", "invalid JSON")]
    [InlineData("""{"model_type": 5}""", "model_type must be a string, got 5")]
    [InlineData("""{"model_type": "roberta", "vocab_size": 100, "num_labels": "three"}""", "num_labels must be an integer")]
    [InlineData("""{"model_type": "roberta", "vocab_size": 100, "num_labels": 1000000000}""", "num_labels 1000000000 is over the limit")]
    [InlineData("""{"model_type": "roberta", "vocab_size": 100, "num_hidden_layers": 10000000000}""", "num_hidden_layers")]
    public void InvalidConfigsNameTheField(string json, string expected)
    {
        var ex = Assert.Throws<ConfigException>(() => PretrainedConfig.FromJson(json));
        Assert.Contains(expected, ex.Message);
    }

    [Theory]
    [InlineData("""{"model_type": "roberta", "vocab_size": 50265, "hidden_size": 65536, "num_attention_heads": 64, "intermediate_size": 262144}""")]
    [InlineData("""{"model_type": "roberta", "vocab_size": 50265, "num_hidden_layers": 1000000000}""")]
    [InlineData("""{"model_type": "roc_bert", "vocab_size": 100, "shape_vocab_size": 2000000000, "shape_embed_dim": 2000000000}""")]
    // Cheap in weights (a billion positions × 8), not in attention over one full-length sequence.
    [InlineData("""{"model_type": "roberta", "vocab_size": 100, "hidden_size": 8, "num_attention_heads": 1, "intermediate_size": 8, "max_position_embeddings": 1000000000}""")]
    public void Absurd_sizes_are_refused_with_the_estimate_before_anything_is_allocated(string json)
    {
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<ConfigException>(() => PretrainedConfig.FromJson(json));
        Assert.Contains("parameters", e.Message);
        Assert.Contains("GiB", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 1 << 20, "refusing the config allocated over 1 MB");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5)); // a hang guard: the refusal takes milliseconds
    }
}
