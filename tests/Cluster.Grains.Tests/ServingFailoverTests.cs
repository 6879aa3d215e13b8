using Microsoft.Extensions.DependencyInjection;
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

    /// <summary>The serving registry, once every silo's device reached the device registry (it places replicas there).</summary>
    async Task<IServingRegistryGrain> RegistryOnceDevicesAreKnownAsync()
    {
        var devices = _cluster.Client.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key);
        Assert.True(await Eventually.HoldsAsync(async () => (await devices.GetStatus()).Members.Sum(m => m.Devices.Count) == 3, TimeSpan.FromSeconds(60)));
        return _cluster.Client.GetGrain<IServingRegistryGrain>(ServingRegistry.Key);
    }

    sealed record Outcome(InferenceReply? Reply, string? Exception, DateTime At);

    [Fact]
    public async Task A_silo_killed_under_load_fails_no_request_and_its_replica_is_placed_again()
    {
        var client = _cluster.Client;
        var registry = await RegistryOnceDevicesAreKnownAsync();
        var deployed = await registry.Deploy(new ModelDeployment("animals", _models.Encoder, [new HeadDeployment("kind", _models.SequenceClassifier)], 3));
        Assert.Equal(3, deployed.Replicas.Select(r => r.Silo).Distinct().Count());

        // Not silo 0 (where the load enters) and not the registry's home.
        var home = await registry.Home();
        var victim = _cluster.Silos.Skip(1).First(s => s.SiloAddress.ToParsableString() != home);
        var victimAddress = victim.SiloAddress.ToParsableString();
        var victimReplica = deployed.Replicas.Single(r => r.Silo == victimAddress).Key;

        var outcomes = new ConcurrentQueue<Outcome>();
        using var stop = new CancellationTokenSource();
        // The load enters on silo 0, as a request to its HTTP port does (the router runs on the silo that took it).
        var entry = _cluster.Silos[0].ServiceProvider.GetRequiredService<IGrainFactory>();
        var router = entry.GetGrain<IModelRouterGrain>("animals");
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

    [Fact]
    public async Task Replicas_are_added_and_removed_at_run_time_and_a_bad_deployment_names_its_cause()
    {
        var client = _cluster.Client;
        var registry = await RegistryOnceDevicesAreKnownAsync();
        var one = await registry.Deploy(new ModelDeployment("animals", _models.Encoder, [], 1));
        Assert.Single(one.Replicas);

        var four = await registry.Scale("animals", 4);
        Assert.Equal(4, four.Replicas.Count);
        Assert.All(four.Replicas, r => Assert.True(r.Ready));
        Assert.Equal(3, four.Replicas.Select(r => r.Silo).Distinct().Count()); // spread: every silo has one before any has two
        var router = client.GetGrain<IModelRouterGrain>("animals");
        var body = JsonSerializer.Serialize(new { inputs = "the cat" });
        var answered = new HashSet<string>();
        for (var i = 0; i < 40 && answered.Count < 4; i++) answered.Add((await router.Infer(new InferenceCall("animals", "embed", body))).Replica!);
        Assert.Equal(four.Replicas.Select(r => r.Key).ToHashSet(), answered); // least outstanding, ties in turn: all of them serve

        var two = await registry.Scale("animals", 2);
        Assert.Equal(two.Replicas.Select(r => r.Key), four.Replicas.Take(2).Select(r => r.Key));
        var removed = four.Replicas[3].Key;
        Assert.Empty((await client.GetGrain<IReplicaGrain>(removed).Describe()).Heads); // unloaded

        var missing = Path.Combine(_models.Root, "nowhere");
        var refused = await Assert.ThrowsAsync<DeploymentException>(() =>
            registry.Deploy(new ModelDeployment("broken", _models.Encoder, [new HeadDeployment("gone", missing)], 2)));
        Assert.Contains(missing, refused.Message);
        Assert.DoesNotContain(await registry.List(), m => m.Name == "broken"); // nothing half-deployed stays
        Assert.Equal(2, (await registry.List()).Single(m => m.Name == "animals").Replicas.Count);
        Assert.Equal(Cluster.Serving.ServingErrorTypes.UnknownModel, (await client.GetGrain<IModelRouterGrain>("broken").Infer(new InferenceCall("broken", "embed", body))).ErrorType);
    }
}
