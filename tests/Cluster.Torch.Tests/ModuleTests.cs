using Xunit;
using static Cluster.Torch.torch.nn;

namespace Cluster.Torch.Tests;

public class ModuleTests
{
    /// <summary>A miniature of HF's layout: embeddings → encoder.layer.{i} → head tied to the embeddings.</summary>
    private sealed class Tiny : Module<Tensor, Tensor>
    {
        public readonly Embedding word_embeddings = new(10, 4, padding_idx: 1);
        public readonly LayerNorm LayerNorm = new(4); // HF keeps the legacy capitalised name
        public readonly ModuleList<Linear> layer = new([new Linear(4, 4), new Linear(4, 4)]);
        public readonly Dropout dropout = new(0.1);
        public readonly Linear decoder = new(4, 10);

        public Tiny()
        {
            RegisterComponents();
            register_buffer("position_ids", torch.arange(6).unsqueeze(0), persistent: false);
            register_buffer("running", torch.zeros([4]));
            decoder.Tie(word_embeddings.weight);
        }

        public override Tensor forward(Tensor ids)
        {
            var x = LayerNorm.call(word_embeddings.call(ids));
            foreach (var l in layer) x = dropout.call(l.call(x).relu());
            return decoder.call(x);
        }
    }

    [Fact]
    public void NamesAreDottedPathsAndTiedWeightsCountOnce()
    {
        using var m = new Tiny();
        var names = m.named_parameters().Select(p => p.name).ToList();
        Assert.Equal(new[]
        {
            "word_embeddings.weight", "LayerNorm.weight", "LayerNorm.bias", "layer.0.weight", "layer.0.bias",
            "layer.1.weight", "layer.1.bias", "decoder.bias",
        }, names);
        Assert.Equal(10 * 4 + 4 + 4 + 2 * (16 + 4) + 10, m.num_parameters());
        var sd = m.state_dict();
        Assert.Contains("decoder.weight", sd.Keys);         // the tied weight under both names
        Assert.Contains("running", sd.Keys);                // persistent buffer
        Assert.DoesNotContain("position_ids", sd.Keys);     // non-persistent
        Assert.Same(sd["decoder.weight"], sd["word_embeddings.weight"]);
    }

    [Fact]
    public void StateDictRoundTripsIntoAFreshModel()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(1);
        using var a = new Tiny();
        torch.manual_seed(2);
        using var b = new Tiny();
        var ids = torch.tensor(new long[] { 0, 2, 1, 5 }, 1, 4);
        a.eval();
        b.eval();
        Assert.NotEqual(a.call(ids).Floats(), b.call(ids).Floats());
        var result = b.load_state_dict(a.state_dict());
        Assert.Empty(result.missing_keys);
        Assert.Empty(result.unexpected_keys);
        Assert.Equal(a.call(ids).Floats(), b.call(ids).Floats());
    }

    [Fact]
    public void StrictLoadNamesMissingUnexpectedAndMisshapenKeys()
    {
        using var scope = torch.NewDisposeScope();
        using var m = new Tiny();
        var sd = new Dictionary<string, Tensor>(m.state_dict());
        sd.Remove("layer.1.bias");
        sd["layer.9.weight"] = torch.zeros([4, 4]);
        var ex = Assert.Throws<TorchException>(() => m.load_state_dict(sd));
        Assert.Contains("missing keys [layer.1.bias]", ex.Message);
        Assert.Contains("unexpected keys [layer.9.weight]", ex.Message);

        var lenient = m.load_state_dict(sd, strict: false);
        Assert.Equal(new[] { "layer.1.bias" }, lenient.missing_keys);
        Assert.Equal(new[] { "layer.9.weight" }, lenient.unexpected_keys);

        var wrong = new Dictionary<string, Tensor>(m.state_dict()) { ["LayerNorm.weight"] = torch.zeros([5]) };
        var shapeError = Assert.Throws<TorchException>(() => m.load_state_dict(wrong));
        Assert.Contains("'LayerNorm.weight' has shape [5]", shapeError.Message);
        Assert.Contains("[4] in the model", shapeError.Message);
    }

    [Fact]
    public void LoadConvertsDtype()
    {
        using var scope = torch.NewDisposeScope();
        using var m = new Tiny();
        var halves = m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().to(ScalarType.Float16));
        m.load_state_dict(halves);
        Assert.Equal(ScalarType.Float32, m.LayerNorm.weight!.dtype);
        Assert.Equal(halves["LayerNorm.weight"].to(ScalarType.Float32).Floats(), m.LayerNorm.weight.Floats());
    }

    [Fact]
    public void TrainEvalToDtypeAndZeroGrad()
    {
        using var scope = torch.NewDisposeScope();
        using var m = new Tiny();
        m.eval();
        Assert.All(m.named_modules(), nm => Assert.False(nm.module.training));
        m.train();
        Assert.True(m.dropout.training);

        var w = m.layer[0].weight;
        m.to(ScalarType.Float64);
        Assert.Same(w, m.layer[0].weight);               // same Parameter object, new storage
        Assert.Equal(ScalarType.Float64, w.dtype);
        Assert.True(w.requires_grad);
        Assert.Equal(ScalarType.Int64, m.named_buffers().First(b => b.name == "position_ids").buffer.dtype);

        m.call(torch.tensor(new long[] { 3, 4 }, 1, 2)).sum().backward();
        Assert.NotNull(w.grad);
        m.zero_grad();
        Assert.Null(w.grad);
    }

    [Fact]
    public void LayersHaveTheirDefaultInitialisation()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(0);
        using var lin = new Linear(64, 32);
        double bound = 1 / Math.Sqrt(64);
        Assert.All(lin.weight.Floats(), v => Assert.InRange(v, -bound, bound));
        Assert.Equal(new long[] { 32, 64 }, lin.weight.shape);
        using var emb = new Embedding(100, 16, padding_idx: 3);
        Assert.All(emb.weight[3].Floats(), v => Assert.Equal(0f, v));
        using var ln = new LayerNorm(8);
        Assert.All(ln.weight!.Floats(), v => Assert.Equal(1f, v));
        Assert.All(ln.bias!.Floats(), v => Assert.Equal(0f, v));
        using var noBias = new Linear(4, 2, hasBias: false);
        Assert.Equal(new[] { "weight" }, noBias.named_parameters().Select(p => p.name));
    }
}
