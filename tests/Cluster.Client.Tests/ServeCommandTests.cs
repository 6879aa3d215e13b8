using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace Cluster.Client.Tests;

/// <summary>`cluster serve` and `cluster predict` as a user runs them: a model made by `cluster model init`, served
/// by an in-process cluster of two silos in a child process, asked over HTTP, stopped with Ctrl-C.</summary>
public sealed class ServeCommandTests : IDisposable
{
    readonly ServingModels _models = new();

    public void Dispose() => _models.Dispose();

    [Fact]
    public async Task A_model_from_model_init_is_served_and_answers_predict_until_interrupted()
    {
        var config = Path.Combine(_models.Root, "tiny.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            vocab_size = _models.Tokenizer.VocabSize, hidden_size = 32, num_hidden_layers = 1, num_attention_heads = 2, intermediate_size = 64,
            max_position_embeddings = 66,
        }));
        var model = Path.Combine(_models.Root, "tiny");
        var init = await ClusterCli.RunAsync("model", "init", "--arch", "roberta", "--config", config, "--tokenizer", _models.TokenizerDirectory, "--out", model);
        Assert.True(init.ExitCode == 0, init.Stderr);

        var port = Cluster.Silo.LoopbackPorts.Free(1)[0];
        using var serve = Process.Start(new ProcessStartInfo("dotnet",
            [BuildOutput.Of("src/Client", "cluster.dll"), "serve", "--model", $"tiny={model}", "--head", $"tiny:kind={_models.SequenceClassifier}",
             "--replicas", "2", "--port", port.ToString(), "--api-key", "secret"])
        { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = new System.Text.StringBuilder();
        var ready = new TaskCompletionSource();
        serve.OutputDataReceived += (_, e) =>
        {
            lock (output) output.AppendLine(e.Data);
            if (e.Data?.StartsWith("serving on", StringComparison.Ordinal) == true) ready.TrySetResult();
        };
        serve.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        serve.BeginOutputReadLine();
        serve.BeginErrorReadLine();
        try
        {
            var started = await Task.WhenAny(ready.Task, serve.WaitForExitAsync(), Task.Delay(TimeSpan.FromMinutes(5)));
            Assert.True(ready.Task.IsCompleted, $"serve did not start: {output}");
            var url = $"http://127.0.0.1:{port}";

            var filled = await ClusterCli.RunAsync("predict", "--url", url, "--model", "tiny", "--task", "fill-mask", "--api-key", "secret",
                "--parameters", """{"top_k": 3}""", "the cat eats <mask>.");
            Assert.True(filled.ExitCode == 0, filled.Stderr);
            Assert.Equal(3, JsonNode.Parse(filled.Stdout)!.AsArray().Count);

            var asked = await ClusterCli.RunAsync("predict", "--url", url, "--model", "tiny", "--task", "question-answering", "--api-key", "secret",
                "--inputs-json", """{"question": "who?", "context": "the cat"}""");
            Assert.Equal(1, asked.ExitCode);
            Assert.Contains("404 unknown_head", asked.Stderr); // the deployment has no QA head, and says which heads it has
            Assert.Contains("kind (sequence-classification)", asked.Stderr);

            var refused = await ClusterCli.RunAsync("predict", "--url", url, "--model", "tiny", "--task", "kind", "the cat");
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("401 unauthorized", refused.Stderr);
            Assert.Contains("replica tiny#", output.ToString());
        }
        finally
        {
            if (!serve.HasExited) Process.Start("kill", ["-INT", serve.Id.ToString()])!.WaitForExit();
            using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await serve.WaitForExitAsync(patience.Token);
        }
        Assert.Equal(0, serve.ExitCode);
        Assert.Contains("stopping", output.ToString());
    }

    [Theory]
    [InlineData("--model", "x=/nonexistent/model", "is not a model directory")]
    [InlineData("--model", "x", "expected NAME=DIR")]
    public async Task Bad_models_are_refused_before_anything_starts(string option, string value, string message)
    {
        var result = await ClusterCli.RunAsync("serve", option, value);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(message, result.Stderr);
    }

    [Fact]
    public async Task A_head_for_a_model_not_given_is_refused()
    {
        var result = await ClusterCli.RunAsync("serve", "--model", $"a={_models.Encoder}", "--head", $"b:kind={_models.SequenceClassifier}");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no --model named 'b'", result.Stderr);
    }
}
