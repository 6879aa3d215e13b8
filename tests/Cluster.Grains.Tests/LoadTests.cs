namespace Cluster.Grains.Tests;

[Collection("cluster")]
public sealed class LoadTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Ten_thousand_concurrent_calls_over_three_silos_are_neither_lost_nor_duplicated()
    {
        const int grains = 500, calls = 10_000;
        // Random placement picks among the silos the placing silo sees as active, and each silo's view settles on its
        // own: the registry seeing three members (the earlier wait) once still left a gateway placing on two. Wait on
        // placement itself: probe grains, fresh each round, until they land on all three silos.
        var probeKey = -Random.Shared.Next(1, 1 << 20) * 1000L; // negative: apart from the keys below
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            var probes = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => fixture.Client.GetGrain<ITallyGrain>(probeKey++).Record(-1)));
            return probes.Distinct().Count() == 3;
        }, TimeSpan.FromSeconds(60)));
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
