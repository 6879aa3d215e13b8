using Cluster.Model.Checkpoints;
using Cluster.Model.Configuration;
using Cluster.Torch;
using Xunit;

namespace Cluster.Model.Tests;

/// <summary>
/// Reference cases made by fixtures/make_roberta_fixtures.py (plain PyTorch, Debian's python3-torch):
/// a model directory per case plus io.safetensors with its inputs and expected outputs.
/// </summary>
internal sealed class Fixture
{
    private Fixture(string dir, PretrainedConfig config, IReadOnlyDictionary<string, Tensor> io) => (Dir, Config, Io) = (dir, config, io);

    public string Dir { get; }
    public PretrainedConfig Config { get; }
    public IReadOnlyDictionary<string, Tensor> Io { get; }

    public RobertaConfig Roberta => (RobertaConfig)Config;

    public RoCBertConfig RoCBert => (RoCBertConfig)Config;

    public Tensor? Optional(string name) => Io.TryGetValue(name, out var t) ? t : null;

    public Tensor this[string name] => Io.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"fixture has no '{name}'");

    /// <summary>Loads a case; its tensors belong to the caller's DisposeScope.</summary>
    public static Fixture Load(string name, string family = "roberta")
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", family, name);
        return new Fixture(dir, Pretrained.LoadConfig(dir), SafeTensors.Load(Path.Combine(dir, "io.safetensors")));
    }

    /// <summary>Float32 parity: every element within 1e-5 (relative above 1).</summary>
    public static void Close(Tensor expected, Tensor actual, double tol = 1e-5)
    {
        Assert.Equal(expected.shape, actual.shape);
        var e = expected.ToArray<float>();
        var a = actual.ToArray<float>();
        double worst = 0;
        int at = -1;
        for (int i = 0; i < e.Length; i++)
        {
            double d = Math.Abs(e[i] - a[i]) / Math.Max(1.0, Math.Abs(e[i]));
            if (d > worst) (worst, at) = (d, i);
        }
        Assert.True(worst <= tol, $"element {at}: expected {(at >= 0 ? e[at] : 0)}, got {(at >= 0 ? a[at] : 0)} (difference {worst:E2})");
    }
}
