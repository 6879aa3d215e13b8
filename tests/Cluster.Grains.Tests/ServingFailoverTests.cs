using System.Collections.Concurrent;
using System.Text.Json;
using Orleans.TestingHost;

namespace Cluster.Grains.Tests;

/// <summary>Serving through the routers while one of three silos is killed: a cluster of its own.</summary>
public sealed class ServingFailoverTests : IAsyncLifetime
{
    readonly ServingModels _models = new();
    InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestClusters.StartAsync(3, _ => ["cpu"]);

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        _models.Dispose();
    }

    sealed record Outcome(InferenceReply? Reply, string? Exception, DateTime At);

    [Fact]
    public async Task A_silo_killed_under_load_fails_no_request_and_its_replica_is_placed_again()
    {
        var client = _cluster.Client;
        var devices = client.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key);
        Assert.True(await Eventually.HoldsAsync(async () => (await devices.GetStatus()).Members.Sum(m => m.Devices.Count) == 3, TimeSpan.FromSeconds(60)));
        var registry = client.GetGrain<IServingRegistryGrain>(ServingRegistry.Key);
        var deployed = await registry.Deploy(new ModelDeployment("animals", _models.Encoder, [new HeadDeployment("kind", _models.SequenceClassifier)], 3));
        Assert.Equal(3, deployed.Replicas.Select(r => r.Silo).Distinct().Count());

        // Not silo 0 (the client's gateway, where its routers run) and not the registry's home.
        var home = await registry.Home();
        var victim = _cluster.Silos.Skip(1).First(s => s.SiloAddress.ToParsableString() != home);
        var victimAddress = victim.SiloAddress.ToParsableString();
        var victimReplica = deployed.Replicas.Single(r => r.Silo == victimAddress).Key;

        var outcomes = new ConcurrentQueue<Outcome>();
        using var stop = new CancellationTokenSource();
        var router = client.GetGrain<IModelRouterGrain>("animals");
        var body = JsonSerializer.Serialize(new { inputs = "the cat sleeps in the house." });
        var load = Enumerable.Range(0, 6).Select(i => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try { outcomes.Enqueue(new Outcome(await router.Infer(new InferenceCall("animals", i % 2 == 0 ? "kind" : "embed", body)), null, DateTime.UtcNow)); }
                catch (Exception e) { outcomes.Enqueue(new Outcome(null, e.Message, DateTime.UtcNow)); }
            }
        })).ToList();

        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(outcomes.Count(o => o.Reply?.Replica == victimReplica) >= 20), TimeSpan.FromMinutes(2)),
            "the victim's replica never answered before the kill");
        await _cluster.KillSiloAsync(victim);
        var killed = DateTime.UtcNow;

        // The registry places the lost replica on a survivor; then the load goes on a while longer.
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            var status = (await registry.List()).Single();
            return status.Replicas.Count == 3 && status.Replicas.All(r => r.Ready && r.Silo != victimAddress);
        }, TimeSpan.FromMinutes(2)), "the dead silo's replica was not placed again");
        var healed = DateTime.UtcNow;
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(outcomes.Count(o => o.At > healed) >= 100), TimeSpan.FromMinutes(2)));
        stop.Cancel();
        await Task.WhenAll(load);

        var all = outcomes.ToList();
        Assert.All(all, o => Assert.Null(o.Exception));
        // Nothing fails but a request whose retry on another replica failed too (with two survivors: none expected).
        var failed = all.Where(o => !o.Reply!.Ok).ToList();
        Assert.All(failed, o => Assert.Contains("failed", o.Reply!.Error));
        Assert.True(failed.Count == 0, $"{failed.Count} of {all.Count} requests failed: {failed.FirstOrDefault()?.Reply?.Error}");
        Assert.DoesNotContain(all.Where(o => o.At > healed), o => o.Reply!.Replica == victimReplica);
        Assert.Contains(all, o => o.At > killed && o.Reply!.Ok);
    }
}
