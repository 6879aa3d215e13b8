using Orleans.TestingHost;

namespace Cluster.Grains.Tests;

/// <summary>A cluster of its own, because these tests kill and add silos.</summary>
public sealed class FailoverFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public async Task InitializeAsync() => Cluster = await TestClusters.StartAsync(3, i => i == 0 ? ["cpu"] : ["cpu", "cuda:0"]);
    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition("failover")]
public sealed class FailoverCollection : ICollectionFixture<FailoverFixture>;

[Collection("failover")]
public sealed class FailoverTests(FailoverFixture fixture)
{
    readonly IClusterClient _client = fixture.Cluster.Client;

    [Fact]
    public async Task A_killed_silos_grains_answer_from_a_survivor_and_its_devices_leave_the_registry()
    {
        var registry = _client.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key);
        Assert.True(await Eventually.HoldsAsync(async () => (await registry.GetStatus()).Members.Sum(m => m.Devices.Count) == 5, TimeSpan.FromSeconds(60)));
        var registryHome = (await registry.GetStatus()).RegistrySilo;

        // A silo that is neither silo 0 (it holds the client's gateway) nor the registry's home.
        var victim = fixture.Cluster.Silos.Skip(1).First(s => s.SiloAddress.ToParsableString() != registryHome);
        var victimAddress = victim.SiloAddress.ToParsableString();
        var gpu = await registry.Acquire(new DeviceRequest("trainer", "cuda", victimAddress));
        Assert.Equal(victimAddress, gpu.Silo);

        // Grains that live on the victim, found by asking where they landed.
        var onVictim = new List<long>();
        for (var key = 1_000_000L; onVictim.Count < 5; key++)
            if (await _client.GetGrain<ITallyGrain>(key).Record(0) == victimAddress) onVictim.Add(key);

        await fixture.Cluster.KillSiloAsync(victim);

        // Each answers again, from a survivor, as a fresh activation (its in-memory state went with the silo).
        foreach (var key in onVictim)
        {
            string? home = null;
            Assert.True(await Eventually.HoldsAsync(async () => (home = await _client.GetGrain<ITallyGrain>(key).Record(1)) != victimAddress, TimeSpan.FromSeconds(60)));
            Assert.NotEqual(victimAddress, home);
        }

        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            var status = await registry.GetStatus();
            return status.Members.Single(m => m.Silo == victimAddress).Status == "Dead" && status.Members.Sum(m => m.Devices.Count) == 3;
        }, TimeSpan.FromSeconds(60)), "the dead silo's devices stayed in the registry");
        Assert.False(await registry.Release(gpu.Key, "trainer")); // its lease went with it
        await Assert.ThrowsAsync<DeviceUnavailableException>(() => _client.GetGrain<IDeviceHolderGrain>(gpu.Key).Where());
    }

    [Fact]
    public async Task A_silo_that_joins_takes_new_grains_and_adds_its_devices()
    {
        var joined = await fixture.Cluster.StartAdditionalSiloAsync();
        await fixture.Cluster.WaitForLivenessToStabilizeAsync();
        var address = joined.SiloAddress.ToParsableString();

        var registry = _client.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key);
        Assert.True(await Eventually.HoldsAsync(async () =>
            (await registry.GetStatus()).Members.Any(m => m.Silo == address && m.Devices.Count > 0), TimeSpan.FromSeconds(60)));

        // Placement runs on the gateway silo, whose list of compatible silos learns of the new one a little after
        // membership does (a fresh-clone run placed 400 grains in half a second before it had): new grains, until one lands there.
        var key = 2_000_000L;
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            for (var i = 0; i < 50; i++)
                if (await _client.GetGrain<ITallyGrain>(key++).Record(0) == address) return true;
            return false;
        }, TimeSpan.FromSeconds(60)), "no new grain was placed on the joined silo");
    }
}
