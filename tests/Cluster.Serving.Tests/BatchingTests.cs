using System.Text.Json.Nodes;
using Cluster.Serving.Batching;
using Cluster.Torch;

namespace Cluster.Serving.Tests;

/// <summary>Requests batched together answer as they do alone; a batch mixing heads on the shared encoder runs it
/// once; the queue refuses beyond its bound at once and recovers; native memory returns to its baseline.</summary>
[Collection("serving")]
public sealed class BatchingTests(ServingFixture fixture)
{
    static readonly (string target, object inputs, object? parameters)[] Mixed =
    [
        ("kind", "the cat sleeps.", new { top_k = 3 }),
        ("roles", "the big dog chases the small fish near the pond", new { ignore_labels = Array.Empty<string>() }),
        ("fill-mask", "a <mask> lives in the yard and likes hay.", null),
        ("qa", new { question = "what does the bird eat?", context = "the bird eats seeds. the horse eats hay in the field." }, new { top_k = 2 }),
        ("choice", new { prompt = "the mouse eats", choices = new[] { "cheese", "bones" } }, null),
        ("embed", new[] { "the horse", "every happy horse sleeps in the field." }, null),
        ("own-kind", "a dog", null),
    ];

    [Fact]
    public async Task Answers_batched_with_other_lengths_and_tasks_equal_the_answers_alone()
    {
        var alone = new List<JsonNode>();
        foreach (var (target, inputs, parameters) in Mixed) alone.Add(await fixture.Ask(target, inputs, parameters));

        var server = fixture.Server;
        var passes = server.Replica.EncoderPasses;
        var batches = server.Batches;
        Task<string>[] pending;
        using (server.HoldBatches())
            pending = Mixed.Select(m => server.InferAsync(m.target, ServingFixture.Request(m.inputs, m.parameters))).ToArray();
        var batched = (await Task.WhenAll(pending)).Select(s => JsonNode.Parse(s)!).ToList();

        Assert.Equal(batches + 1, server.Batches);
        // The shared encoder once, and the classifier that has its own encoder once: two passes, not seven.
        Assert.Equal(passes + 2, server.Replica.EncoderPasses);
        for (var i = 0; i < Mixed.Length; i++) JsonAssert.Close(alone[i], batched[i], Mixed[i].target);
    }

    [Fact]
    public async Task A_full_queue_refuses_at_once_and_answers_again_once_it_drains()
    {
        var models = fixture.Models;
        using var server = await ModelServer.StartAsync(new ModelDefinition("small", models.Encoder, []), Device.CPU, "small/test",
            new BatchingOptions { MaxQueuedRequests = 2 });
        var request = ServingFixture.Request("the cat");
        Task<string> first, second;
        using (server.HoldBatches())
        {
            first = server.InferAsync("embed", request);
            second = server.InferAsync("embed", request);
            var refused = await Assert.ThrowsAsync<OverloadedException>(() => server.InferAsync("embed", request));
            Assert.Contains("2 requests queued", refused.Message);
        }
        Assert.Equal(await first, await second);
        Assert.Equal(await first, await server.InferAsync("embed", request));
    }

    [Fact]
    public async Task A_batch_stays_within_the_token_budget()
    {
        var models = fixture.Models;
        // Each request is one row of 4 tokens ("<s> the cat </s>"): a budget of 8 tokens holds two per batch.
        using var server = await ModelServer.StartAsync(new ModelDefinition("budget", models.Encoder, []), Device.CPU, "budget/test",
            new BatchingOptions { MaxBatchTokens = 8 });
        Assert.Equal(4, models.Tokenizer.Encode("the cat").Length);
        Task<string>[] pending;
        using (server.HoldBatches())
            pending = Enumerable.Range(0, 6).Select(_ => server.InferAsync("embed", ServingFixture.Request("the cat"))).ToArray();
        await Task.WhenAll(pending);
        Assert.Equal(3, server.Batches);
    }

    [Fact]
    public async Task Short_requests_are_not_padded_to_a_long_ones_length()
    {
        var models = fixture.Models;
        using var server = await ModelServer.StartAsync(new ModelDefinition("fill", models.Encoder, []), Device.CPU, "fill/test");
        var longText = string.Join(" ", Enumerable.Repeat("the cat eats milk", 20));
        Assert.True(models.Tokenizer.Encode(longText).Length > 60);
        Task<string>[] pending;
        using (server.HoldBatches())
            pending = [server.InferAsync("embed", ServingFixture.Request(longText)),
                       .. Enumerable.Range(0, 4).Select(_ => server.InferAsync("embed", ServingFixture.Request("the cat")))];
        await Task.WhenAll(pending);
        // Not one batch: the long one runs alone (three quarters of a batch's tokens must be real), the shorts together.
        Assert.Equal(2, server.Batches);
    }

    [Fact]
    public async Task Ten_thousand_requests_leave_native_tensors_at_their_baseline()
    {
        var server = fixture.Server;
        await fixture.Ask("kind", "warm up"); // lazily made native state (thread pools, caches) before the baseline
        var baseline = LiveTensors.Settled();
        var managed = GC.GetTotalMemory(forceFullCollection: true);
        string[] texts = ["the cat", "a dog eats bones in the yard.", "the lazy horse sleeps", "what does the fish eat?"];
        for (var wave = 0; wave < 10_000 / 50; wave++)
            await Task.WhenAll(Enumerable.Range(0, 50).Select(i => server.InferAsync(i % 3 == 0 ? "kind" : i % 3 == 1 ? "roles" : "embed",
                ServingFixture.Request(texts[(wave + i) % texts.Length]))));
        Assert.Equal(baseline, LiveTensors.Settled());
        // Managed memory flat: no per-request state is kept (generous: the runtime's own growth is not ours).
        Assert.True(GC.GetTotalMemory(forceFullCollection: true) < managed + 64L * 1024 * 1024);
    }
}
