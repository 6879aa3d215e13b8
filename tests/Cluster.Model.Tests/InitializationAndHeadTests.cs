using Cluster.Model.Checkpoints;
using Cluster.Model.Configuration;
using Cluster.Model.Encoder;
using Cluster.Model.RoCBert;
using Cluster.Model.Roberta;
using Cluster.Model.Tasks;
using Cluster.Torch;
using Xunit;

namespace Cluster.Model.Tests;

public sealed class InitializationAndHeadTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("cluster-heads-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void HuggingFaceInitialisation()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(1);
        var config = new RobertaConfig { vocab_size = 500, hidden_size = 64, num_hidden_layers = 2, num_attention_heads = 4, intermediate_size = 128 };
        using var model = new RobertaForMaskedLM(config);
        var w = model.roberta.encoder.layer[0].intermediate.dense.weight.ToArray<float>();
        double mean = w.Average(), std = Math.Sqrt(w.Select(v => (v - mean) * (v - mean)).Average());
        Assert.InRange(std, 0.019, 0.021);                  // N(0, initializer_range)
        Assert.InRange(mean, -0.001, 0.001);
        Assert.All(model.roberta.encoder.layer[1].output.dense.bias!.ToArray<float>(), v => Assert.Equal(0f, v));
        Assert.All(model.roberta.embeddings.LayerNorm.weight!.ToArray<float>(), v => Assert.Equal(1f, v));
        Assert.All(model.lm_head.bias.ToArray<float>(), v => Assert.Equal(0f, v));
        Assert.All(model.roberta.embeddings.word_embeddings.weight[1].ToArray<float>(), v => Assert.Equal(0f, v));     // pad row
        Assert.All(model.roberta.embeddings.position_embeddings.weight[1].ToArray<float>(), v => Assert.Equal(0f, v));
        var emb = model.roberta.embeddings.word_embeddings.weight[7].ToArray<float>();
        Assert.Contains(emb, v => v != 0);
    }

    [Fact]
    public void ANewHeadIsInitialisedButTheBodyStaysStrict()
    {
        using var scope = torch.NewDisposeScope();
        var config = new RobertaConfig { vocab_size = 40, hidden_size = 16, num_hidden_layers = 1, num_attention_heads = 2, intermediate_size = 32 };
        using (var mlm = TaskModel.Create(config, Head.MaskedLM)) mlm.SavePretrained(dir);
        using (var cls = TaskModel.FromPretrained(dir, Head.SequenceClassification, out var loaded))
        {
            Assert.Equal(new[] { "classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias" },
                loaded.missing_keys);
            Assert.Contains("lm_head.bias", loaded.unexpected_keys);
        }

        var sd = SafeTensors.Load(Path.Combine(dir, Pretrained.WeightsFile));
        sd.Remove("roberta.encoder.layer.0.output.dense.bias");
        SafeTensors.Save(Path.Combine(dir, Pretrained.WeightsFile), sd);
        var ex = Assert.Throws<CheckpointException>(() => TaskModel.FromPretrained(dir, Head.SequenceClassification, out _));
        Assert.Contains("missing keys [roberta.encoder.layer.0.output.dense.bias]", ex.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RoCBertEmbeddingsGradcheck(bool concat)
    {
        using var scope = torch.NewDisposeScope();
        var config = new RoCBertConfig
        {
            vocab_size = 9, hidden_size = 6, num_hidden_layers = 1, num_attention_heads = 2, intermediate_size = 8,
            max_position_embeddings = 8, shape_vocab_size = 7, shape_embed_dim = concat ? 4 : 6, pronunciation_vocab_size = 5,
            pronunciation_embed_dim = concat ? 3 : 6, concat_input = concat, hidden_dropout_prob = 0,
        };
        using var emb = new RoCBertEmbeddings(config);
        emb.to(ScalarType.Float64).eval();
        // id 0 is the padding id of all three tables: the inputs avoid it, since padding rows get no gradient
        var ids = torch.tensor(new long[] { 3, 5, 8, 1 }, 1, 4);
        var shapes = torch.tensor(new long[] { 2, 6, 1, 3 }, 1, 4);
        var sounds = torch.tensor(new long[] { 4, 1, 2, 3 }, 1, 4);
        var ps = emb.parameters().Cast<Tensor>().ToArray();
        torch.autograd.gradcheck(_ => emb.forward(ids, shapes, sounds, null, null, 0), ps, eps: 1e-6, atol: 1e-6);
    }
}
