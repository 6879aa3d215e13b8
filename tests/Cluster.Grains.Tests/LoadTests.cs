namespace Cluster.Grains.Tests;

[Collection("cluster")]
public sealed class LoadTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Ten_thousand_concurrent_calls_over_three_silos_are_neither_lost_nor_duplicated()
    {
        const int grains = 500, calls = 10_000;
        // Random placement only uses silos every member sees as active: wait for all three first (a fresh cluster
        // can still be settling when this is the collection's first test).
        var registry = fixture.Client.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key);
        Assert.True(await Eventually.HoldsAsync(async () => (await registry.GetStatus()).Members.Count(m => m.Status == "Active" && m.Devices.Count > 0) == 3,
            TimeSpan.FromSeconds(60)));
        var keyBase = Random.Shared.Next(1, 1 << 20) * 1000L; // fresh grains each run
        var homes = await Task.WhenAll(Enumerable.Range(0, calls).Select(call =>
            fixture.Client.GetGrain<ITallyGrain>(keyBase + call % grains).Record(call)));

        var seen = new List<int>();
        for (var g = 0; g < grains; g++)
        {
            var recorded = await fixture.Client.GetGrain<ITallyGrain>(keyBase + g).Calls();
            Assert.All(recorded, call => Assert.Equal(g, call % grains)); // nothing went to the wrong grain
            seen.AddRange(recorded);
        }
        Assert.Equal(Enumerable.Range(0, calls), seen.Order()); // each call exactly once
        Assert.Equal(3, homes.Distinct().Count()); // the grains live on all three silos
    }
}
