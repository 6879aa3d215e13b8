namespace Cluster.Runtime.Tests;

[Collection("cluster")]
public sealed class DevicePlacementTests(ClusterFixture fixture)
{
    readonly Testing.TestCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task Workers_are_pinned_one_per_free_device_and_a_freed_device_is_reused()
    {
        // The fixture advertises cuda:0 on silo 1 and cuda:0, cuda:1 on silo 2: three devices.
        var client = _cluster.Client;
        var placements = new List<string>();
        for (var i = 0; i < 3; i++) placements.Add(await client.GetGrain<IWorkerGrain>($"worker-{i}").Placement());
        Assert.Equal(3, placements.Distinct().Count());
        var expected = _cluster.Silos.SelectMany(s => s.Options.Devices.Where(d => d.StartsWith("cuda")).Select(d => $"{s.Address}|{d}")).ToHashSet();
        Assert.True(expected.SetEquals(placements), string.Join(", ", placements));
        // Pinned: the same activation answers again.
        Assert.Equal(placements[0], await client.GetGrain<IWorkerGrain>("worker-0").Placement());

        var full = await Assert.ThrowsAsync<NoFreeDeviceException>(() => client.GetGrain<IWorkerGrain>("worker-3").Placement());
        Assert.Contains("no free cuda device", full.Message);

        await client.GetGrain<IWorkerGrain>("worker-1").Retire();
        string? fourth = null;
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            try { fourth = await client.GetGrain<IWorkerGrain>("worker-3").Placement(); return true; }
            catch (NoFreeDeviceException) { return false; }
        }, TimeSpan.FromSeconds(10)), "the retired worker's device was never freed");
        Assert.Equal(placements[1], fourth);

        foreach (var key in new[] { "worker-0", "worker-2", "worker-3" }) await client.GetGrain<IWorkerGrain>(key).Retire();
    }
}
