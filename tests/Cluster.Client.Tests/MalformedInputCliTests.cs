using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Cluster.Model.Checkpoints;
using Cluster.Testing;
using Cluster.Torch;
using Xunit;

namespace Cluster.Client.Tests;

/// <summary>
/// Every verb, run through the real executable on a sample of malformed models, checkpoints, tokenizer files and
/// inputs, prints one line naming the problem and exits 1: never a stack trace, never an "unexpected" exception.
/// </summary>
public sealed class MalformedInputCliTests(ServingModels models) : IClassFixture<ServingModels>
{
    /// <summary>A copy of the served masked LM with one defect, by name.</summary>
    static readonly Dictionary<string, Action<string>> Defects = new()
    {
        ["config with a wrong type"] = dir => EditJson(dir, "config.json", c => c["hidden_size"] = "wide"),
        ["config of absurd size"] = dir => EditJson(dir, "config.json", c => c["num_hidden_layers"] = 1_000_000_000),
        ["config that is not UTF-8"] = dir => File.WriteAllBytes(Path.Combine(dir, "config.json"), [.. "{\"model_type\": \"rob"u8, 0xFF, .. "erta\"}"u8]),
        ["truncated safetensors"] = dir => Truncate(Path.Combine(dir, "model.safetensors")),
        ["safetensors header past the file"] = dir =>
        {
            var path = Path.Combine(dir, "model.safetensors");
            var bytes = File.ReadAllBytes(path);
            BitConverter.GetBytes(ulong.MaxValue / 2).CopyTo(bytes, 0);
            File.WriteAllBytes(path, bytes);
        },
        ["pickle that would run code"] = dir =>
        {
            File.Delete(Path.Combine(dir, "model.safetensors"));
            using var zip = ZipFile.Open(Path.Combine(dir, "pytorch_model.bin"), ZipArchiveMode.Create);
            using var s = zip.CreateEntry("archive/data.pkl").Open();
            s.Write([0x80, 0x02, .. "cposix\nsystem\n"u8, .. "X\x02\x00\x00\x00id"u8, 0x85, (byte)'R', (byte)'.']);
        },
        ["vocab with a shared id"] = dir => EditJson(dir, "vocab.json", v => v[v.Last().Key] = 0),
        ["merges with a bad line"] = dir => File.AppendAllText(Path.Combine(dir, "merges.txt"), "one two three\n"),
        ["tokenizer config with a wrong type"] = dir => File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"bos_token": 5}"""),
    };

    static readonly string[] TokenizerDefects = ["vocab with a shared id", "merges with a bad line", "tokenizer config with a wrong type"];
    static readonly string[] ConfigDefects = ["config with a wrong type", "config of absurd size", "config that is not UTF-8"];

    static void EditJson(string dir, string file, Action<JsonObject> edit) => JsonFiles.Edit(dir, file, edit);

    static void Truncate(string path)
    {
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]);
    }

    string Broken(string defect)
    {
        var dir = CopyOfEncoder();
        Defects[defect](dir);
        return dir;
    }

    string CopyOfEncoder()
    {
        var dir = Directory.CreateTempSubdirectory("cluster-broken-").FullName;
        foreach (var file in Directory.GetFiles(models.Encoder)) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        return dir;
    }

    string Scratch(string name, string content)
    {
        var path = Path.Combine(models.Root, name);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>Exit 1 and one line on stderr that names <paramref name="names"/> (a file or field), with no trace.</summary>
    static void OneLine(ClusterCli.Result r, string what, string? names = null)
    {
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("cluster: warning:")).ToList();
        Assert.True(r.ExitCode == 1 && lines.Count == 1, $"{what}: exit {r.ExitCode}, stderr:\n{r.Stderr}");
        Assert.StartsWith("cluster: ", lines[0]);
        Assert.DoesNotContain("unexpected", lines[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
        if (names is not null) Assert.Contains(names, lines[0]);
    }

    [Fact]
    public async Task Infer_refuses_every_broken_model_in_one_line()
    {
        var input = Scratch("ids.json", """{"input_ids": [[0, 5, 6, 2]]}""");
        foreach (var defect in Defects.Keys.Except(TokenizerDefects)) // infer takes token ids: it reads no tokenizer file
        {
            var dir = Broken(defect);
            OneLine(await ClusterCli.RunAsync("infer", "--model-dir", dir, "--head", "masked-lm", "--input", input), $"infer on a {defect}", dir);
        }
    }

    [Fact]
    public async Task Infer_refuses_bad_inputs_in_one_line_before_building_them()
    {
        var cases = new Dictionary<string, string>
        {
            ["""{"input_ids": "0 5 6 2"}"""] = "expected a number",
            ["""{"input_ids": [[0, 5], [6]]}"""] = "not a rectangular array",
            ["""{"input_ids": [[0, 99999999999999999999]]}"""] = "out of range",
            ["""{"input_ids": [[0, 5, 6, 2]], "attention_mask": [[1e39, 1, 1, 1]]}"""] = "beyond float32's range",
            ["""{"input_ids": [[0, 5, 6, 2]], "pixels": [1]}"""] = "takes no input 'pixels'",
            ["""{"input_ids": [[0, 100000, 6, 2]]}"""] = "outside [0,",
            ["[1, 2]"] = "expected a JSON object",
            ["{\"input_ids\": [[0, 5"] = "invalid JSON",
            [$$"""{"input_ids": [{{string.Join(",", Enumerable.Repeat("[" + string.Join(",", Enumerable.Repeat("5", 1024)) + "]", 1024))}}]}"""] =
                "holds 1048576 numbers, more than the 524288 an input may have",
        };
        foreach (var (json, message) in cases)
        {
            var input = Scratch("input.json", json);
            OneLine(await ClusterCli.RunAsync("infer", "--model-dir", models.Encoder, "--head", "masked-lm", "--input", input), json[..Math.Min(60, json.Length)], message);
        }
        // Within the element limit but not within memory: 1000 sequences of 40 tokens of masked-LM logits, under a 16 MB cap.
        var wide = Scratch("wide.json", $$"""{"input_ids": [{{string.Join(",", Enumerable.Repeat("[" + string.Join(",", Enumerable.Repeat("5", 40)) + "]", 1000))}}]}""");
        OneLine(await ClusterCli.RunAsync(null, new Dictionary<string, string> { ["CLUSTER_MAX_MODEL_BYTES"] = (16 << 20).ToString() },
            "infer", "--model-dir", models.Encoder, "--head", "masked-lm", "--input", wide), "an input too large for memory",
            "input_ids of shape [1000, 40] would need about");
        File.WriteAllBytes(Path.Combine(models.Root, "input.json"), [.. "{\"input_ids\": [[0]], \"\xff\": [1]}"u8, 0xFF]);
        OneLine(await ClusterCli.RunAsync("infer", "--model-dir", models.Encoder, "--head", "masked-lm", "--input", Path.Combine(models.Root, "input.json")),
            "input not UTF-8", "not valid UTF-8");
    }

    [Fact]
    public async Task Infer_writes_nan_and_infinite_outputs_as_strings_with_a_warning()
    {
        var dir = CopyOfEncoder();
        var weights = Path.Combine(dir, "model.safetensors");
        using (torch.NewDisposeScope())
        {
            var tensors = SafeTensors.Load(weights);
            var bias = tensors["lm_head.bias"];
            var values = bias.ToArray<float>();
            (values[0], values[1], values[2]) = (float.NaN, float.PositiveInfinity, float.NegativeInfinity);
            tensors["lm_head.bias"] = torch.tensor(values, bias.shape);
            SafeTensors.Save(weights, [.. tensors]);
        }
        var input = Scratch("ids.json", """{"input_ids": [[0, 5, 6, 2]]}""");
        var r = await ClusterCli.RunAsync("infer", "--model-dir", dir, "--head", "masked-lm", "--input", input);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("cluster: warning: the output holds 12 NaN or infinite values", r.Stderr); // 3 per token, 4 tokens
        var first = JsonNode.Parse(r.Stdout)!["logits"]![0]![0]!.AsArray();
        Assert.Equal(new[] { "NaN", "Infinity", "-Infinity" }, first.Take(3).Select(v => v!.GetValue<string>()));
        Assert.IsType<double>(first[3]!.GetValue<double>());
    }

    [Fact]
    public async Task Tokenize_and_data_prepare_refuse_broken_tokenizer_files_in_one_line()
    {
        var corpus = Scratch("corpus.txt", "the cat eats milk\n");
        foreach (var defect in TokenizerDefects)
        {
            var dir = Broken(defect);
            OneLine(await ClusterCli.RunAsync("hello"u8.ToArray(), "tokenize", "--model-dir", dir), $"tokenize with a {defect}", dir);
            OneLine(await ClusterCli.RunAsync("data", "prepare", "--tokenizer", dir, "--corpus", corpus, "--out", Path.Combine(dir, "data")),
                $"data prepare with a {defect}", dir);
        }
        OneLine(await ClusterCli.RunAsync("hello"u8.ToArray(), "tokenize", "--model-dir", models.Encoder, "--max-length", "1"), "max-length 1",
            "max_length leaves no room");
    }

    [Fact]
    public async Task Model_init_and_pretrain_refuse_broken_configs_in_one_line()
    {
        var corpus = Scratch("corpus.txt", "the cat eats milk\nthe dog eats bones\n");
        foreach (var defect in ConfigDefects)
        {
            var dir = Broken(defect);
            var config = Path.Combine(dir, "config.json");
            OneLine(await ClusterCli.RunAsync("model", "init", "--arch", "roberta", "--config", config, "--out", Path.Combine(dir, "out")),
                $"model init with a {defect}", config);
            OneLine(await ClusterCli.RunAsync("pretrain", "--arch", "roberta", "--config", config, "--tokenizer", models.TokenizerDirectory,
                "--corpus", corpus, "--out", Path.Combine(dir, "run"), "--max-steps", "1"), $"pretrain with a {defect}", config);
        }
    }

    [Fact]
    public async Task Finetune_refuses_broken_models_and_data_in_one_line()
    {
        var good = Scratch("train.jsonl", "{\"text\": \"the cat\", \"label\": \"pet\"}\n{\"text\": \"the fox\", \"label\": \"wild\"}\n");
        var bad = Scratch("bad.jsonl", "{\"text\": 5, \"label\": \"pet\"}\n");
        foreach (var defect in new[] { "config with a wrong type", "truncated safetensors", "vocab with a shared id" })
        {
            var dir = Broken(defect);
            OneLine(await ClusterCli.RunAsync("finetune", "--task", "sequence-classification", "--model-dir", dir, "--train", good, "--eval", good,
                "--out", Path.Combine(dir, "out"), "--max-steps", "1"), $"finetune on a {defect}", dir);
        }
        OneLine(await ClusterCli.RunAsync("finetune", "--task", "sequence-classification", "--model-dir", models.Encoder, "--train", bad, "--eval", good,
            "--out", Path.Combine(models.Root, "ft-out"), "--max-steps", "1"), "finetune on a bad training file", bad);
    }

    [Fact]
    public async Task Serve_predict_and_status_fail_in_one_line()
    {
        var dir = Broken("truncated safetensors");
        OneLine(await ClusterCli.RunAsync("serve", "--model", $"m={dir}", "--port", "0"), "serve a truncated checkpoint", dir);
        OneLine(await ClusterCli.RunAsync("predict", "--url", "http://127.0.0.1:9", "--model", "m", "--task", "fill-mask", "a <mask>"), "predict on a dead url");
        OneLine(await ClusterCli.RunAsync("status", "--cluster", "127.0.0.1:9", "--connect-timeout", "2"), "status of a dead cluster");
    }

    [Fact]
    public async Task Tokenizer_and_jobs_verbs_fail_in_one_line()
    {
        var missing = Path.Combine(models.Root, "missing.txt");
        OneLine(await ClusterCli.RunAsync("tokenizer", "train", "--kind", "bpe", "--corpus", missing, "--vocab-size", "300",
            "--out", Path.Combine(models.Root, "tok-out")), "tokenizer train on a missing corpus", missing);
        OneLine(await ClusterCli.RunAsync("tokenizer", "rocbert-maps", "--vocab", missing, "--hanzi-dir", models.Root,
            "--pinyin", missing, "--out", Path.Combine(models.Root, "maps-out")), "rocbert-maps on a missing vocabulary", missing);
        OneLine(await ClusterCli.RunAsync("jobs", "list", "--cluster", "127.0.0.1:9", "--connect-timeout", "2"), "jobs list on a dead cluster");
        OneLine(await ClusterCli.RunAsync("jobs", "cancel", "job-1", "--cluster", "127.0.0.1:9", "--connect-timeout", "2"), "jobs cancel on a dead cluster");
    }

    /// <summary>Peak resident memory of `cluster tokenize` on <paramref name="stdin"/>, measured by GNU time.</summary>
    static async Task<(ClusterCli.Result Result, long PeakBytes)> TokenizeMeasured(string modelDir, byte[] stdin)
    {
        var report = Path.GetTempFileName();
        var r = await ClusterCli.RunUnderAsync(["/usr/bin/time", "-f", "%M", "-o", report], stdin, null, "tokenize", "--model-dir", modelDir);
        var kilobytes = long.Parse(File.ReadAllLines(report).Last(l => l.Trim().Length > 0).Trim());
        File.Delete(report);
        var err = string.Join('\n', r.Stderr.Split('\n').Where(l => !l.StartsWith("Command exited with non-zero status")));
        return (r with { Stderr = err }, kilobytes * 1024);
    }

    [Theory]
    [InlineData("latin")]
    [InlineData("cjk")]
    public async Task A_20_MB_single_line_is_refused_by_the_line_limit_within_the_memory_bound(string kind)
    {
        Assert.True(File.Exists("/usr/bin/time"), "GNU time is needed (scripts/bootstrap.sh --test installs it)");
        var unit = kind == "cjk" ? "我爱北京天安门中国首都" : "abcdefghij";
        var line = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(unit, 20_000_000 / Encoding.UTF8.GetByteCount(unit))) + "\n");
        var (r, peak) = await TokenizeMeasured(models.Encoder, line);
        OneLine(r, $"a 20 MB {kind} line", "more than the 1048576 a line may have");
        Assert.True(peak < 1L << 30, $"peak memory {peak >> 20} MB");

        // The longest line taken tokenizes, within the same bound.
        var longest = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("abcdefghi ", (1 << 20) / 10)) + "\n");
        var (ok, okPeak) = await TokenizeMeasured(models.Encoder, longest);
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Single(ok.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(okPeak < 1L << 30, $"peak memory {okPeak >> 20} MB on a line at the limit");
    }
}
