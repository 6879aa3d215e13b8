using Xunit;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Client.Serving;
using Cluster.Client.Training;
using Cluster.Grains;
using Cluster.Serving;
using Cluster.Torch;

namespace Cluster.Client.Tests;

/// <summary>Three in-process silos (each with its HTTP port) serving the test models with an API key: one replica
/// of "animals" on each silo (its encoder, four frozen heads and a classifier with its own encoder), and "slow", a
/// one-replica model whose queue holds one request and waits for more, to see back-pressure.</summary>
public sealed class ServingClusterFixture : IAsyncLifetime
{
    public const string Key = "test-key";
    public ServingModels Models { get; } = new();
    public EmbeddedCluster Cluster { get; private set; } = null!;
    public ModelServer Local { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await EmbeddedCluster.StartAsync(3, CancellationToken.None, apiKeys: [Key]);
        var heads = Models.FrozenHeads.Select(h => new HeadDeployment(h.Name, h.Directory)).Append(new HeadDeployment("own-kind", Models.OwnEncoderClassifier)).ToList();
        await ModelDeployer.DeployAsync(Cluster.GrainFactory, [
            new ModelDeployment("animals", Models.Encoder, heads, 3),
            new ModelDeployment("slow", Models.Encoder, [], 1) { MaxQueuedRequests = 1, MaxBatchDelayMilliseconds = 5000 },
        ], TextWriter.Null);
        // The reference: the same model served in this process without the cluster (itself checked against the model
        // run directly, in Cluster.Serving.Tests).
        Local = await ModelServer.StartAsync(new ModelDefinition("animals", Models.Encoder,
            heads.Select(h => new HeadDefinition(h.Name, h.Directory)).ToList()), Device.CPU, "local");
    }

    public async Task DisposeAsync()
    {
        Local.Dispose();
        await Cluster.DisposeAsync();
        Models.Dispose();
    }

    public HttpClient Http(int silo, string? key = Key)
    {
        var http = new HttpClient { BaseAddress = new Uri(Cluster.HttpUrls[silo]), Timeout = TimeSpan.FromMinutes(2) };
        if (key is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }
}

[CollectionDefinition("serving-http")]
public sealed class ServingHttpCollection : ICollectionFixture<ServingClusterFixture>;

[Collection("serving-http")]
public sealed class ServingHttpTests(ServingClusterFixture fixture)
{
    static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    static readonly (string task, object inputs, object? parameters)[] EveryTask =
    [
        ("fill-mask", "the cat eats <mask> in the house.", new { top_k = 3 }),
        ("kind", new[] { "the big dog sleeps.", "a fish" }, new { top_k = (int?)null }),
        ("own-kind", "a horse", (object?)null),
        ("roles", "the horse chases the mouse near the tree", new { aggregation_strategy = "simple", ignore_labels = Array.Empty<string>() }),
        ("qa", new { question = "what does the cat eat?", context = "the cat eats milk. the dog eats bones." }, new { top_k = 2 }),
        ("multiple-choice", new { prompt = "the cat eats", choices = new[] { "milk", "hay", "seeds" } }, null),
        ("embed", new[] { "the lazy bird", "every happy horse sleeps in the field." }, new { pooling = "mean" }),
    ];

    [Fact]
    public async Task Every_task_answers_over_http_on_every_silo_as_the_model_does_in_process()
    {
        for (var silo = 0; silo < 3; silo++)
        {
            using var http = fixture.Http(silo);
            foreach (var (task, inputs, parameters) in EveryTask)
            {
                var body = parameters is null ? (object)new { inputs } : new { inputs, parameters };
                using var response = await http.PostAsync($"/v1/models/animals/{task}", Json(body));
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{task} on silo {silo}: {(int)response.StatusCode} {text}");
                var expected = JsonNode.Parse(await fixture.Local.InferAsync(task, JsonSerializer.Serialize(body)));
                JsonAssert.Close(expected, JsonNode.Parse(text), $"{task}@{silo}");
            }
        }
    }

    [Fact]
    public async Task The_model_list_shows_a_ready_replica_on_each_silo_and_the_heads()
    {
        using var http = fixture.Http(1);
        var list = JsonNode.Parse(await http.GetStringAsync("/v1/models"))!;
        Assert.Equal("animals", (string)list["default"]!);
        var animals = list["models"]!.AsArray().Single(m => (string)m!["name"]! == "animals")!;
        var replicas = animals["replicas"]!.AsArray();
        Assert.Equal(3, replicas.Count);
        Assert.All(replicas, r => Assert.True((bool)r!["ready"]!));
        Assert.Equal(3, replicas.Select(r => (string)r!["silo"]!).Distinct().Count());
        var heads = animals["heads"]!.AsArray().Select(h => ((string)h!["name"]!, (bool)h["shares_encoder"]!)).ToList();
        Assert.Contains(("kind", true), heads);
        Assert.Contains(("own-kind", false), heads);
        Assert.Contains(("fill-mask", true), heads);
    }

    [Fact]
    public async Task A_request_without_a_valid_key_is_401_but_health_and_metrics_are_open()
    {
        foreach (var key in new[] { null, "wrong" })
        {
            using var http = fixture.Http(0, key);
            using var response = await http.PostAsync("/v1/models/animals/embed", Json(new { inputs = "x" }));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("unauthorized", (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error_type"]!);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
        }
        using var open = fixture.Http(0, key: null);
        using (var scrape = await open.GetAsync("/metrics")) Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
    }

    [Theory]
    [InlineData("/v1/models/zebra/embed", """{"inputs": "x"}""", 404, "unknown_model", "no model 'zebra'")]
    [InlineData("/v1/models/animals/sentiment", """{"inputs": "x"}""", 404, "unknown_head", "no head or task 'sentiment'")]
    [InlineData("/v1/models/animals/kind", """{"inputs": "x", "parameters": {"top_k": "all"}}""", 422, "invalid_input", "parameters.top_k: expected an integer")]
    [InlineData("/v1/models/animals/kind", "[1, 2]", 422, "invalid_input", "must be a JSON object")]
    [InlineData("/v1/models/animals/kind", "{oops", 422, "invalid_input", "not valid JSON")]
    public async Task Bad_requests_get_their_status_and_a_message_naming_the_problem(string path, string body, int status, string type, string message)
    {
        using var http = fixture.Http(2);
        using var response = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(type, (string)error["error_type"]!);
        Assert.Contains(message, (string)error["error"]!);
    }

    [Fact]
    public async Task A_body_that_is_not_utf8_is_refused_with_the_byte_and_one_with_a_byte_order_mark_is_read()
    {
        using var http = fixture.Http(1);
        var json = Encoding.UTF8.GetBytes("""{"inputs": "a cat"}""");
        byte[] broken = [.. json[..12], 0xFF, .. json[12..]];
        using (var refused = await http.PostAsync("/v1/models/animals/kind", new ByteArrayContent(broken)))
        {
            Assert.Equal(422, (int)refused.StatusCode);
            Assert.Contains("not valid UTF-8 (byte 12)", await refused.Content.ReadAsStringAsync());
        }
        using var marked = await http.PostAsync("/v1/models/animals/kind", new ByteArrayContent([0xEF, 0xBB, 0xBF, .. json]));
        Assert.Equal(HttpStatusCode.OK, marked.StatusCode);
    }

    [Fact]
    public async Task Oversized_requests_are_413()
    {
        using var http = fixture.Http(0);
        using (var big = await http.PostAsync("/v1/models/animals/embed", Json(new { inputs = new string('a', 3 * 1024 * 1024) })))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
            Assert.Contains("more than the limit of 2097152", await big.Content.ReadAsStringAsync());
        }
        using var many = await http.PostAsync("/v1/models/animals/embed", Json(new { inputs = Enumerable.Repeat("a cat", 40).ToArray() }));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, many.StatusCode);
        Assert.Contains("40 inputs", await many.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_full_queue_answers_429_with_retry_after_and_recovers()
    {
        using var http = fixture.Http(0);
        // "slow" queues one request and waits 5 s for company before running it: a second meanwhile is refused.
        var first = http.PostAsync("/v1/models/slow/embed", Json(new { inputs = "the cat" }));
        Assert.True(await Eventually.HoldsAsync(async () => await ReplicaDepth("slow") == 1, TimeSpan.FromSeconds(60)), "the first request never reached the queue");
        using (var refused = await http.PostAsync("/v1/models/slow/embed", Json(new { inputs = "the dog" })))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.Equal("overloaded", (string)JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error_type"]!);
        }
        using (var answered = await first) Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        using var again = await http.PostAsync("/v1/models/slow/embed", Json(new { inputs = "the dog" }));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    async Task<int> ReplicaDepth(string model)
    {
        var status = (await fixture.Cluster.GrainFactory.GetGrain<IServingRegistryGrain>(ServingRegistry.Key).List()).Single(m => m.Name == model);
        return status.Replicas.Sum(r => r.QueueDepth);
    }

    [Fact]
    public async Task Tei_and_openai_routes_serve_the_default_model()
    {
        using var http = fixture.Http(1);
        var embedded = JsonNode.Parse(await (await http.PostAsync("/embed", Json(new { inputs = new[] { "the cat" }, normalize = false }))).Content.ReadAsStringAsync())!;
        var direct = JsonNode.Parse(await fixture.Local.InferAsync("embed", JsonSerializer.Serialize(new { inputs = new[] { "the cat" }, parameters = new { normalize = false } })));
        JsonAssert.Close(direct, embedded, "/embed");

        var tokens = JsonNode.Parse(await (await http.PostAsync("/tokenize", Json(new { inputs = "the cat" }))).Content.ReadAsStringAsync())!.AsArray()[0]!.AsArray();
        var expected = fixture.Models.Tokenizer.Encode("the cat");
        Assert.Equal(expected.InputIds, tokens.Select(t => (int)t!["id"]!));
        Assert.Equal("cat", (string)tokens[2]!["text"]!);
        Assert.True((bool)tokens[0]!["special"]!);

        using var predicted = await http.PostAsync("/predict", Json(new { inputs = "the cat" }));
        // Two sequence-classification heads: the default model's /predict must name one, and says so.
        Assert.Equal(HttpStatusCode.NotFound, predicted.StatusCode);
        Assert.Contains("kind, own-kind", await predicted.Content.ReadAsStringAsync());

        var openai = JsonNode.Parse(await (await http.PostAsync("/v1/embeddings", Json(new { input = new[] { "the cat", "a dog" }, model = "animals" }))).Content.ReadAsStringAsync())!;
        Assert.Equal("list", (string)openai["object"]!);
        Assert.Equal(2, openai["data"]!.AsArray().Count);
        Assert.Equal(fixture.Models.Tokenizer.Encode("the cat").Length + fixture.Models.Tokenizer.Encode("a dog").Length, (int)openai["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task The_openapi_document_and_the_serving_metrics_are_published()
    {
        using var http = fixture.Http(0);
        await http.PostAsync("/v1/models/animals/embed", Json(new { inputs = "the cat" }));
        var document = JsonNode.Parse(await http.GetStringAsync("/openapi.json"))!;
        Assert.NotNull(document["paths"]!["/v1/models/{model}/{task}"]);
        Assert.NotNull(document["paths"]!["/embed"]);
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("cluster_serving_requests", metrics);
        Assert.Contains("cluster_serving_batch_tokens", metrics);
        Assert.Contains("cluster_serving_queue_depth", metrics);
    }
}
