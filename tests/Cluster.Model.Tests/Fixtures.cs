using Cluster.Model.Checkpoints;
using Cluster.Model.Configuration;
using Cluster.Torch;
using Xunit;

namespace Cluster.Model.Tests;

/// <summary>
/// Parity cases: a model directory per case plus io.safetensors with its inputs and expected outputs.
/// fixtures/make_*_fixtures.py drew the weights and inputs (plain PyTorch, Debian's python3-torch);
/// fixtures/check_with_transformers.py --write then replaced the expected outputs with what Hugging
/// Face transformers' own classes compute (float64), except those its version cannot produce, which
/// keep the plain-PyTorch values: each case's transformers.json lists which are which.
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
    public static void Close(Tensor expected, Tensor actual, double tol = 1e-5) => Close(expected, actual, "", tol);

    /// <summary>As above; <paramref name="what"/> names the compared output in the failure message.</summary>
    public static void Close(Tensor expected, Tensor actual, string what, double tol = 1e-5)
    {
        var (worst, at, e, a) = Worst(expected, actual);
        Assert.True(worst <= tol, $"{what}: element {at}: expected {e}, got {a} (difference {worst:E2})");
    }

    /// <summary>The largest difference (relative above 1), where it is, and the two values there.</summary>
    public static (double difference, int at, float expected, float actual) Worst(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        var e = expected.ToArray<float>();
        var a = actual.ToArray<float>();
        double worst = 0;
        int at = -1;
        for (int i = 0; i < e.Length; i++)
        {
            double d = Math.Abs(e[i] - a[i]) / Math.Max(1.0, Math.Abs(e[i]));
            if (d > worst || float.IsNaN(a[i])) (worst, at) = (float.IsNaN(a[i]) ? double.PositiveInfinity : d, i);
        }
        return at < 0 ? (0, -1, 0, 0) : (worst, at, e[at], a[at]);
    }
}
