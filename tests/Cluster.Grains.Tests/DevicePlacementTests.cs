using Orleans.Runtime;

namespace Cluster.Grains.Tests;

[Collection("cluster")]
public sealed class DevicePlacementTests(ClusterFixture fixture)
{
    readonly IDeviceRegistryGrain _registry = fixture.Client.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key);

    /// <summary>Silo metadata reaches the registry's silo shortly after the silos join.</summary>
    async Task WaitForAllDevicesAsync(int count)
        => Assert.True(await Eventually.HoldsAsync(async () => (await _registry.GetStatus()).Members.Sum(m => m.Devices.Count) == count, TimeSpan.FromSeconds(60)),
            "the registry never saw every silo's devices");

    [Fact]
    public async Task Three_devices_go_to_three_owners_a_fourth_request_is_refused_and_a_freed_device_is_reused()
    {
        await WaitForAllDevicesAsync(3);
        var leases = new List<DeviceLease>();
        for (var i = 0; i < 3; i++) leases.Add(await _registry.Acquire(new DeviceRequest($"worker-{i}", "cpu")));
        try
        {
            Assert.Equal(3, leases.Select(l => l.Key).Distinct().Count());
            Assert.Equal(3, leases.Select(l => l.Silo).Distinct().Count()); // one device per silo: spread over all three

            // Each device-keyed grain activates on the silo its lease names.
            foreach (var lease in leases)
                Assert.Equal(lease.Silo, await fixture.Client.GetGrain<IDeviceHolderGrain>(lease.Key).Where());

            var refused = await Assert.ThrowsAsync<NoFreeDeviceException>(() => _registry.Acquire(new DeviceRequest("worker-3", "cpu")));
            Assert.Contains("no free cpu device for worker-3", refused.Message);
            Assert.Contains("worker-1", refused.Message); // names who holds what

            // Asking again is idempotent for an owner that already holds one.
            Assert.Equal(leases[0].Key, (await _registry.Acquire(new DeviceRequest("worker-0", "cpu"))).Key);

            Assert.False(await _registry.Release(leases[1].Key, "worker-0")); // not its lease
            Assert.True(await _registry.Release(leases[1].Key, "worker-1"));
            var reused = await _registry.Acquire(new DeviceRequest("worker-3", "cpu"));
            Assert.Equal(leases[1].Key, reused.Key);
            leases[1] = reused;

            var status = await _registry.GetStatus();
            Assert.Equal(["worker-0", "worker-2", "worker-3"], status.Members.SelectMany(m => m.Devices).Select(d => d.Owner!).Order());
        }
        finally
        {
            foreach (var lease in leases) await _registry.Release(lease.Key, lease.Owner);
        }
    }

    [Fact]
    public async Task A_kind_the_cluster_lacks_and_an_unknown_kind_are_refused_clearly()
    {
        await WaitForAllDevicesAsync(3);
        var none = await Assert.ThrowsAsync<NoFreeDeviceException>(() => _registry.Acquire(new DeviceRequest("job", "cuda")));
        Assert.Contains("the cluster has none", none.Message);
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => _registry.Acquire(new DeviceRequest("job", "tpu")));
        Assert.Contains("unknown device kind 'tpu'", unknown.Message);
    }

    [Fact]
    public async Task A_key_naming_a_missing_device_or_a_silo_outside_the_cluster_activates_nowhere()
    {
        var silo = fixture.Cluster.Silos[1].SiloAddress.ToParsableString();
        var noDevice = await Assert.ThrowsAsync<DeviceUnavailableException>(
            () => fixture.Client.GetGrain<IDeviceHolderGrain>($"{silo}/cuda:0").Where());
        Assert.Contains("has no device cuda:0", noDevice.Message);

        var stranger = SiloAddress.New(System.Net.IPAddress.Loopback, 1, 42).ToParsableString();
        var noSilo = await Assert.ThrowsAsync<DeviceUnavailableException>(
            () => fixture.Client.GetGrain<IDeviceHolderGrain>($"{stranger}/cpu").Where());
        Assert.Contains("is not an active member", noSilo.Message);

        var malformed = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Client.GetGrain<IDeviceHolderGrain>("not-a-silo").Where());
        Assert.Contains("does not name a silo", malformed.Message);
    }

    [Fact]
    public async Task Each_silo_reports_itself_through_its_diagnostics_grain()
    {
        foreach (var silo in fixture.Cluster.Silos)
        {
            var address = silo.SiloAddress.ToParsableString();
            var report = await fixture.Client.GetGrain<IDiagnosticsGrain>(address).Report();
            Assert.Equal(address, report.Silo);
            Assert.Equal(silo.Name, report.Name);
            Assert.Equal(["cpu"], report.Devices);
            Assert.Equal(Environment.ProcessId, report.ProcessId);
            Assert.NotNull(report.BulkEndpoint);
        }
    }
}
