using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Model.Tasks;
using Cluster.Model.Tokenization;
using Cluster.Serving;
using Cluster.Torch;

namespace Cluster.Serving.Tests;

/// <summary>The serving models and one server over all of them (the encoder's fill-mask and embed, four frozen heads,
/// and a classifier with its own encoder), shared by the tests of the "serving" collection.</summary>
public sealed class ServingFixture : IAsyncLifetime
{
    public ServingModels Models { get; } = new();
    public ModelServer Server { get; private set; } = null!;

    public ModelDefinition Definition => new("animals", Models.Encoder,
        [.. Models.FrozenHeads.Select(h => new HeadDefinition(h.Name, h.Directory)), new HeadDefinition("own-kind", Models.OwnEncoderClassifier)]);

    // Every held request in one batch whatever its length (no fill rule): the tests compare answers across lengths.
    public async Task InitializeAsync() => Server = await ModelServer.StartAsync(Definition, Device.CPU, "animals/test",
        new Cluster.Serving.Batching.BatchingOptions { MinBatchFill = 0 });

    public Task DisposeAsync()
    {
        Server.Dispose();
        Models.Dispose();
        return Task.CompletedTask;
    }

    public async Task<JsonNode> Ask(string target, object inputs, object? parameters = null) =>
        JsonNode.Parse(await Server.InferAsync(target, Request(inputs, parameters)))!;

    public static string Request(object inputs, object? parameters = null) =>
        JsonSerializer.Serialize(parameters is null ? new { inputs } : (object)new { inputs, parameters });
}

[CollectionDefinition("serving")]
public sealed class ServingCollection : ICollectionFixture<ServingFixture>;

