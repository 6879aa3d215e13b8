using System.Text.Json;
using Cluster.Model.Tasks;
using Cluster.Testing;
using Xunit;

namespace Cluster.Client.Tests;

/// <summary>`cluster pretrain` as a user runs it: an in-process cluster of two CPU workers, the output directory,
/// resuming, and the inputs it refuses before any worker starts.</summary>
public sealed class PretrainCommandTests : IClassFixture<TestCorpus>
{
    readonly TestCorpus _corpus;
    readonly string _config;

    public PretrainCommandTests(TestCorpus corpus)
    {
        _corpus = corpus;
        _config = Path.Combine(corpus.Root, "tiny-config.json");
        File.WriteAllText(_config, corpus.TinyConfig().ToJson());
    }

    string Fresh(string name) => Path.Combine(_corpus.Root, $"{name}-{Guid.NewGuid():N}");

    string[] Args(string output, params string[] more) =>
    [
        "pretrain", "--arch", "roberta", "--config", _config, "--tokenizer", _corpus.TokenizerDirectory, "--workers", "2", "--batch-size", "4",
        "--max-length", "24", "--lr", "3e-3", "--warmup", "1", "--out", output, .. more,
    ];

    [Fact]
    public async Task Two_in_process_workers_pretrain_save_a_loadable_model_and_resume_from_the_checkpoint()
    {
        var output = Fresh("pretrain");
        var metrics = Path.Combine(_corpus.Root, $"metrics-{Guid.NewGuid():N}.json");
        var run = await ClusterCli.RunAsync(Args(output, "--corpus", _corpus.CorpusFile, "--max-steps", "4", "--checkpoint-every", "2", "--metrics-out", metrics));
        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        Assert.Contains("start from identical weights", run.Stdout);
        Assert.Contains("done: loss", run.Stdout);
        foreach (var file in new[] { "config.json", "model.safetensors", "vocab.json", "merges.txt", "metrics.csv", "loss.svg", "data/manifest.json", "checkpoints/step-00000004/trainer_state.json" })
            Assert.True(File.Exists(Path.Combine(output, file)), $"{file} is missing");
        var csv = File.ReadAllLines(Path.Combine(output, "metrics.csv"));
        Assert.Equal(5, csv.Length);
        // Two workers reduce every step (in buckets while backward runs): both times are recorded.
        var header = csv[0].Split(',');
        int total = Array.IndexOf(header, "allreduce_seconds"), exposed = Array.IndexOf(header, "allreduce_exposed_seconds");
        Assert.True(total >= 0 && exposed >= 0, csv[0]);
        foreach (var row in csv.Skip(1).Select(line => line.Split(',')))
        {
            double all = double.Parse(row[total], System.Globalization.CultureInfo.InvariantCulture), waited = double.Parse(row[exposed], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(all > 0 && waited >= 0, $"all-reduce {all} s, exposed {waited} s");
        }
        using (var json = JsonDocument.Parse(File.ReadAllText(metrics)))
        {
            foreach (var key in new[] { "final_loss", "initial_loss", "steps", "tokens", "tokens_per_second", "workers" })
                Assert.True(json.RootElement.TryGetProperty(key, out _), $"{key} is missing from --metrics-out");
            Assert.Equal(4, json.RootElement.GetProperty("steps").GetInt64());
            Assert.Equal(2, json.RootElement.GetProperty("workers").GetInt32());
        }
        using (var model = TaskModel.FromPretrained(output, Head.MaskedLM, out var loaded))
            Assert.Empty(loaded.missing_keys);

        var resumed = await ClusterCli.RunAsync(Args(output, "--corpus", _corpus.CorpusFile, "--max-steps", "6", "--resume"));
        Assert.True(resumed.ExitCode == 0, resumed.Stderr + resumed.Stdout);
        Assert.Contains("resuming from", resumed.Stdout);
        Assert.Contains("resumed at step 4", resumed.Stdout);
        Assert.Equal(7, File.ReadAllLines(Path.Combine(output, "metrics.csv")).Length);
    }

    [Fact]
    public async Task Bf16_reaches_the_workers_their_first_loss_moves_by_bf16_rounding_only()
    {
        async Task<double> FirstLoss(params string[] more)
        {
            var metrics = Path.Combine(_corpus.Root, $"metrics-{Guid.NewGuid():N}.json");
            var run = await ClusterCli.RunAsync(Args(Fresh("bf16"), ["--corpus", _corpus.CorpusFile, "--max-steps", "1", "--metrics-out", metrics, .. more]));
            Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
            using var json = JsonDocument.Parse(File.ReadAllText(metrics));
            return json.RootElement.GetProperty("initial_loss").GetDouble();
        }
        var (float32, bf16) = (await FirstLoss(), await FirstLoss("--bf16"));
        Assert.NotEqual(float32, bf16); // the same seed and batch: only autocast on the workers changes it
        Assert.True(Math.Abs(bf16 - float32) < 0.01 * float32, $"first loss {bf16} with --bf16, {float32} without");
    }

    [Fact]
    public async Task RoCBert_pretrains_with_its_contrastive_objective_over_the_coordinator_backend()
    {
        using var rocbert = new RoCBertCorpus();
        var config = Path.Combine(rocbert.Root, "tiny-config.json");
        File.WriteAllText(config, rocbert.TinyConfig().ToJson());
        var output = Fresh("rocbert");
        var metrics = Path.Combine(rocbert.Root, "metrics.json");
        var run = await ClusterCli.RunAsync(["pretrain", "--arch", "roc_bert", "--config", config, "--tokenizer", rocbert.TokenizerDirectory,
            "--corpus", rocbert.CorpusFile, "--workers", "2", "--batch-size", "4", "--max-length", "24", "--line-by-line", "--lr", "2e-3",
            "--max-steps", "40", "--allreduce", "coordinator", "--out", output, "--metrics-out", metrics]);
        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        Assert.Contains("(contrastive ", run.Stdout);
        var csv = File.ReadAllLines(Path.Combine(output, "metrics.csv"));
        var column = Array.IndexOf(csv[0].Split(','), "contrastive_loss");
        Assert.True(column >= 0, csv[0]);
        Assert.All(csv.Skip(1), line => Assert.NotEqual("", line.Split(',')[column]));
        using (var json = JsonDocument.Parse(File.ReadAllText(metrics)))
        {
            double first = json.RootElement.GetProperty("initial_contrastive_loss").GetDouble(), last = json.RootElement.GetProperty("final_contrastive_loss").GetDouble();
            Assert.True(last < first, $"the contrastive loss went from {first} to {last}");
        }
        // The saved RoCBertForPreTraining loads as the masked LM (and as itself, pooler included).
        using (var model = TaskModel.FromPretrained(output, Head.MaskedLM, out var loaded)) Assert.Empty(loaded.missing_keys);
        using (var model = TaskModel.FromPretrained(output, Head.PreTraining, out var loaded)) Assert.Empty(loaded.missing_keys);

        var refused = await ClusterCli.RunAsync(Args(Fresh("contrastive-roberta"), "--corpus", _corpus.CorpusFile, "--objective", "contrastive"));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("--objective contrastive is RoCBert's", refused.Stderr);
    }

    [Fact]
    public async Task Bad_inputs_are_refused_in_one_line_before_any_worker_starts_and_write_nothing()
    {
        var empty = Path.Combine(_corpus.Root, "empty.txt");
        File.WriteAllText(empty, "");
        var wrongArch = Path.Combine(_corpus.Root, "rocbert-config.json");
        File.WriteAllText(wrongArch, """{"model_type": "roc_bert", "hidden_size": 32}""");
        var tooSmall = Path.Combine(_corpus.Root, "small-vocab.json");
        File.WriteAllText(tooSmall, """{"vocab_size": 10, "hidden_size": 32, "num_attention_heads": 2}""");
        var occupied = Fresh("occupied");
        Directory.CreateDirectory(occupied);
        File.WriteAllText(Path.Combine(occupied, "keep.txt"), "precious");

        var cases = new (string[] Args, string Expected)[]
        {
            (Args(Fresh("a"), "--corpus", Path.Combine(_corpus.Root, "missing.txt")), "no such file"),
            (Args(Fresh("b"), "--corpus", empty), "the file is empty"),
            ([.. Args(Fresh("c"), "--corpus", _corpus.CorpusFile).Select(a => a == "24" ? "4096" : a)], "--max-length 4096 must be within"),
            (Args(Fresh("d"), "--corpus", _corpus.CorpusFile, "--data", _corpus.ShardDirectory), "give either --data DIR"),
            (Args(occupied, "--corpus", _corpus.CorpusFile), "is not empty (pass --resume"),
            (Args(Fresh("e"), "--data", _corpus.ShardDirectory, "--resume"), "--resume: no complete checkpoint"),
            ([.. Args(Fresh("f"), "--corpus", _corpus.CorpusFile).Select(a => a == _config ? wrongArch : a)], "says model_type 'roc_bert' but --arch is 'roberta'"),
            ([.. Args(Fresh("g"), "--corpus", _corpus.CorpusFile).Select(a => a == _config ? tooSmall : a)], "does not fit the config's vocab_size 10"),
            (Args(Fresh("h"), "--data", _corpus.Root), "no manifest.json"),
        };
        foreach (var (args, expected) in cases)
        {
            var result = await ClusterCli.RunAsync(args);
            Assert.True(result.ExitCode == 1, $"{expected}: exit {result.ExitCode} {result.Stderr}{result.Stdout}");
            var line = result.Stderr.Trim().Split('\n').Last(l => !l.StartsWith("preparing the corpus", StringComparison.Ordinal)); // progress, then the one line
            Assert.Single(result.Stderr.Trim().Split('\n'), l => l.StartsWith("cluster: ", StringComparison.Ordinal));
            Assert.Contains(expected, line);
            Assert.DoesNotContain("job pretrain-", result.Stdout); // refused before a job was submitted
            var output = args[Array.IndexOf(args, "--out") + 1];
            if (output != occupied) Assert.False(Directory.Exists(output), $"{expected}: {output} was created");
        }
        Assert.Equal(["keep.txt"], Directory.GetFileSystemEntries(occupied).Select(Path.GetFileName));
    }
}
