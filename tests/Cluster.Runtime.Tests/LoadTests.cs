namespace Cluster.Runtime.Tests;

[Collection("cluster")]
public sealed class LoadTests(ClusterFixture fixture)
{
    readonly Testing.TestCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task Ten_thousand_concurrent_calls_over_three_silos_are_neither_lost_nor_duplicated()
    {
        const int Calls = 10_000, Grains = 100;
        var silos = _cluster.Silos;
        // Half through the client's gateways, half from the silos themselves, all at once.
        var calls = Enumerable.Range(0, Calls).Select(i =>
        {
            IGrainFactory from = i % 2 == 0 ? _cluster.Client : silos[i % silos.Count].GrainFactory;
            return from.GetGrain<ITallyGrain>(1000 + i % Grains).Add(i);
        }).ToList();
        try { await Task.WhenAll(calls); }
        catch (Exception)
        {
            var failures = calls.Where(c => c.IsFaulted).Select(c => c.Exception!.InnerException!)
                .GroupBy(e => $"{e.GetType().Name}: {e.Message}").Select(g => $"{g.Count()} x {g.Key}");
            Assert.Fail($"{calls.Count(c => c.IsFaulted)} calls failed: {string.Join(" | ", failures.Take(10))}");
        }
        var counts = calls.Select(c => c.Result).ToArray();

        var seen = new List<long>();
        for (var g = 0; g < Grains; g++) seen.AddRange(await _cluster.Client.GetGrain<ITallyGrain>(1000 + g).Seen());
        Assert.Equal(Calls, seen.Count);
        Assert.Equal(Enumerable.Range(0, Calls).Select(i => (long)i), seen.Order());
        // Each grain answered 1..100 exactly once: every call got its own, unduplicated answer.
        for (var g = 0; g < Grains; g++)
            Assert.Equal(Enumerable.Range(1, Calls / Grains), counts.Where((_, i) => i % Grains == g).Order());
        var spread = await Task.WhenAll(Enumerable.Range(0, Grains).Select(g => _cluster.Client.GetGrain<IEchoGrain>($"spread-{g}").WhereAmI()));
        Assert.Equal(3, spread.Distinct().Count());
    }
}
