using Cluster.Model.Checkpoints;
using Cluster.Model.Configuration;
using Cluster.Model.Tasks;
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

    /// <summary>The head a fixture case exercises, from its directory name.</summary>
    public static Head HeadOf(string caseName) => caseName switch
    {
        _ when caseName.StartsWith("base_") || caseName == "decoder_cross_attention" => Head.Base,
        _ when caseName.StartsWith("sequence_classification") => Head.SequenceClassification,
        "masked_lm" => Head.MaskedLM,
        "causal_lm" => Head.CausalLM,
        "token_classification" => Head.TokenClassification,
        "question_answering" => Head.QuestionAnswering,
        "multiple_choice" => Head.MultipleChoice,
        "pretraining" => Head.PreTraining,
        _ => throw new ArgumentException($"no head known for fixture case '{caseName}'"),
    };

    /// <summary>Every case directory, RoBERTa's then RoCBert's.</summary>
    public static IEnumerable<(string family, string name)> Cases() =>
        from family in new[] { "roberta", "roc_bert" }
        from dir in Directory.GetDirectories(Path.Combine(AppContext.BaseDirectory, "fixtures", family)).Order()
        select (family, Path.GetFileName(dir));

    /// <summary>
    /// Runs this case's inputs through <paramref name="model"/> (eval, no grad) on <paramref name="device"/>
    /// and checks every output the case has an expected value for; returns how many and the worst difference.
    /// </summary>
    public (int compared, double worst) CheckOutputs(TaskModel model, Device device, string what)
    {
        model.Module.eval();
        var inputs = Io.Where(kv => model.Inputs.Contains(kv.Key) && kv.Key != "head_mask").ToDictionary(kv => kv.Key, kv => kv.Value.to(device));
        OrderedDictionary<string, Tensor> outputs;
        using (torch.no_grad()) outputs = model.Run(inputs);
        int compared = 0;
        double worst = 0;
        foreach (var (output, value) in outputs)
        {
            if (Optional(output) is not { } expected) continue;
            Assert.Equal(device, value.device);
            var (e, a) = (expected.flatten(), value.cpu().flatten());
            Close(e, a, $"{what} {output}");
            worst = Math.Max(worst, Worst(e, a).difference);
            compared++;
        }
        return (compared, worst);
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
