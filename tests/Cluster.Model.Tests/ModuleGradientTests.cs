using Cluster.Model.Configuration;
using Cluster.Model.Encoder;
using Cluster.Model.RoCBert;
using Cluster.Model.Roberta;
using Cluster.Torch;
using Xunit;
using static Cluster.Torch.torch.nn;

namespace Cluster.Model.Tests;

/// <summary>
/// Float64 finite-difference checks of every module, with respect to its input and all of its
/// parameters (the parameters are passed to gradcheck, which perturbs them in place).
/// </summary>
public class ModuleGradientTests
{
    private static RobertaConfig Tiny(string positions = "absolute", bool decoder = false) => new()
    {
        vocab_size = 11, hidden_size = 8, num_hidden_layers = 1, num_attention_heads = 2, intermediate_size = 12,
        max_position_embeddings = 12, position_embedding_type = positions, is_decoder = decoder, add_cross_attention = decoder,
        hidden_dropout_prob = 0, attention_probs_dropout_prob = 0, num_labels = 3,
    };

    private static void Check(Module module, Func<Tensor, Tensor> f, Tensor input)
    {
        module.to(ScalarType.Float64).eval();
        var ps = module.parameters().Cast<Tensor>().ToArray();
        torch.autograd.gradcheck(x => f(x[0]), [input, .. ps], eps: 1e-6, atol: 1e-6);
    }

    private static Tensor Hidden(Generator g, long B = 2, long T = 4, long H = 8) =>
        torch.randn([B, T, H], ScalarType.Float64, generator: g, requires_grad: true);

    [Theory]
    [InlineData("absolute")]
    [InlineData("relative_key")]
    [InlineData("relative_key_query")]
    public void AttentionWithMaskAndHeadMask(string positions)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(1);
        using var attention = new Attention(Tiny(positions));
        var mask = AttentionMasks.Extended(torch.tensor(new long[] { 1, 1, 1, 0, 1, 1, 1, 1 }, 2, 4), 4, 0, false, ScalarType.Float64);
        var heads = torch.tensor(new double[] { 1.0, 0.5 }, 1, 2, 1, 1);
        Check(attention, x => attention.forward(new AttentionCall(x) { attention_mask = mask, head_mask = heads }).output, Hidden(g));
    }

    [Fact]
    public void DecoderLayerWithCrossAttention()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(2);
        using var layer = new Layer(Tiny(decoder: true));
        var mask = AttentionMasks.Extended(torch.ones([2, 4], ScalarType.Int64), 4, 0, true, ScalarType.Float64);
        var encoder = torch.randn([2, 3, 8], ScalarType.Float64, generator: g);
        Check(layer, x => layer.forward(x, mask, null, encoder, null, null, false).hidden_states, Hidden(g));
    }

    [Fact]
    public void HeadsAndPooler()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(3);
        var config = Tiny();
        using var lm = new RobertaLMHead(config);
        Check(lm, x => lm.forward(x), Hidden(g));
        using var cls = new RobertaClassificationHead(config);
        Check(cls, x => cls.forward(x), Hidden(g));
        using var pooler = new Pooler(config);
        Check(pooler, x => pooler.forward(x), Hidden(g));
        using var ffn = new Intermediate(config);
        Check(ffn, x => ffn.forward(x), Hidden(g));
        using var output = new Output(config, config.intermediate_size);
        Check(output, x => output.forward(x.narrow(2, 0, 8).repeat(1, 1, 2).narrow(2, 0, 12), x), Hidden(g));
        var roc = new RoCBertConfig { vocab_size = 11, hidden_size = 8, num_attention_heads = 2, intermediate_size = 12, hidden_act = "gelu_new" };
        using var predictions = new RoCBertLMPredictionHead(roc);
        Check(predictions, x => predictions.forward(x), Hidden(g));
    }

    [Fact]
    public void EmbeddingsWithRespectToTheirTables()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(4);
        using var emb = new RobertaEmbeddings(Tiny());
        emb.to(ScalarType.Float64).eval();
        // no padding id (1): the padding rows get no gradient by design
        var ids = torch.tensor(new long[] { 0, 5, 7, 4, 0, 9, 2, 3 }, 2, 4);
        var ps = emb.parameters().Cast<Tensor>().ToArray();
        torch.autograd.gradcheck(_ => emb.forward(ids, null, null, 0), ps, eps: 1e-6, atol: 1e-6);
    }
}
