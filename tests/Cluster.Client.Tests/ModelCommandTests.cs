using System.Text.Json;
using Cluster.Model.Checkpoints;
using Cluster.Model.Tasks;
using Cluster.Torch;
using Xunit;

namespace Cluster.Client.Tests;

public sealed class ModelCommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("cluster-cli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static string Fixture(string family, string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", family, name);

    /// <summary>Writes the named fixture inputs as the JSON file `cluster infer --input` reads.</summary>
    private string InputFile(IReadOnlyDictionary<string, Tensor> io, params string[] names)
    {
        var path = Path.Combine(dir, "input.json");
        File.WriteAllText(path, TensorJson.Serialize(names.Select(n => new KeyValuePair<string, Tensor>(n, io[n]))));
        return path;
    }

    private static void Close(float[] expected, JsonElement actual)
    {
        float[] got;
        using (var scope = torch.NewDisposeScope()) got = TensorJson.Parse(actual, "output").to(ScalarType.Float32).flatten().ToArray<float>();
        Assert.Equal(expected.Length, got.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - got[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {got[i]}");
    }

    [Theory]
    [InlineData("roberta", "masked_lm", "masked-lm")]
    [InlineData("roberta", "token_classification", "token-classification")]
    [InlineData("roc_bert", "sequence_classification", "sequence-classification")]
    public async Task InferMatchesThePyTorchReference(string family, string name, string head)
    {
        // DisposeScopes belong to one thread, so the fixture is read before the await
        string input;
        float[] logits, loss;
        using (var scope = torch.NewDisposeScope())
        {
            var io = SafeTensors.Load(Path.Combine(Fixture(family, name), "io.safetensors"));
            input = InputFile(io, io.Keys.Where(k => k is "input_ids" or "attention_mask" or "labels" or "input_shape_ids"
                                                       or "input_pronunciation_ids" or "token_type_ids").ToArray());
            (logits, loss) = (io["logits"].ToArray<float>(), io["loss"].ToArray<float>());
        }
        var r = await ClusterCli.RunAsync("infer", "--model-dir", Fixture(family, name), "--head", head, "--input", input);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var output = JsonDocument.Parse(r.Stdout);
        Close(logits, output.RootElement.GetProperty("logits"));
        Close(loss, output.RootElement.GetProperty("loss"));
    }

    [Fact]
    public async Task ModelInitWritesADirectoryThatInferRuns()
    {
        var config = Path.Combine(dir, "config.json");
        File.WriteAllText(config, """{"vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32}""");
        var model = Path.Combine(dir, "model");
        var init = await ClusterCli.RunAsync("model", "init", "--arch", "roberta", "--config", config, "--out", model, "--seed", "4");
        Assert.True(init.ExitCode == 0, init.Stderr);
        Assert.True(File.Exists(Path.Combine(model, "model.safetensors")));
        Assert.Contains("RobertaForMaskedLM", File.ReadAllText(Path.Combine(model, "config.json")));

        var input = Path.Combine(dir, "in.json");
        File.WriteAllText(input, """{"input_ids": [[0, 5, 6, 2]]}""");
        var first = await ClusterCli.RunAsync("infer", "--model-dir", model, "--head", "base", "--input", input);
        var second = await ClusterCli.RunAsync("infer", "--model-dir", model, "--head", "base", "--input", input);
        Assert.True(first.ExitCode == 0, first.Stderr);
        using var a = JsonDocument.Parse(first.Stdout);
        using var b = JsonDocument.Parse(second.Stdout);
        // eval mode: no dropout, the same hidden states every run
        Assert.Equal(a.RootElement.GetProperty("last_hidden_state").GetRawText(), b.RootElement.GetProperty("last_hidden_state").GetRawText());
        Assert.Equal(4, a.RootElement.GetProperty("last_hidden_state")[0].GetArrayLength());
        // a masked-LM directory has no pooler: like transformers, infer initialises one and says so
        Assert.Equal(16, a.RootElement.GetProperty("pooler_output")[0].GetArrayLength());
        Assert.Contains("has no weights for [pooler.dense.weight, pooler.dense.bias]", first.Stderr);
    }

    [Theory]
    [InlineData("""{"input_ids": [[0, 5], [1]]}""", "not a rectangular array")]
    [InlineData("""{"input_ids": [[0, 500]]}""", "input_ids contains 500")]
    [InlineData("""{"input_ids": [[0, 5]], "bogus": [1]}""", "takes no input 'bogus'")]
    [InlineData("""{"attention_mask": [[1, 1]]}""", "input_ids is required")]
    [InlineData("""[1, 2]""", "expected a JSON object")]
    public async Task BadInputsExitNonZeroWithTheReason(string json, string expected)
    {
        var input = Path.Combine(dir, "bad.json");
        File.WriteAllText(input, json);
        var r = await ClusterCli.RunAsync("infer", "--model-dir", Fixture("roberta", "base_absolute"), "--head", "base", "--input", input);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(expected, r.Stderr);
        Assert.StartsWith("cluster: ", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task UnknownHeadsAndMismatchedArchitecturesAreRefused()
    {
        var input = Path.Combine(dir, "in.json");
        File.WriteAllText(input, """{"input_ids": [[0, 5]]}""");
        var head = await ClusterCli.RunAsync("infer", "--model-dir", Fixture("roberta", "base_absolute"), "--head", "pretraining", "--input", input);
        Assert.Equal(1, head.ExitCode);
        Assert.Contains("head pretraining does not exist for model_type roberta", head.Stderr);

        var config = Path.Combine(dir, "config.json");
        File.WriteAllText(config, """{"model_type": "roc_bert"}""");
        var init = await ClusterCli.RunAsync("model", "init", "--arch", "roberta", "--config", config, "--out", Path.Combine(dir, "x"));
        Assert.Equal(1, init.ExitCode);
        Assert.Contains("says model_type 'roc_bert' but --arch is 'roberta'", init.Stderr);
    }
}
