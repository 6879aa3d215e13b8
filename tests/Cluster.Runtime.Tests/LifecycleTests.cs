namespace Cluster.Runtime.Tests;

[Collection("cluster")]
public sealed class LifecycleTests(ClusterFixture fixture)
{
    readonly Testing.TestCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task An_idle_grain_is_deactivated_and_the_next_call_activates_it_afresh()
    {
        var grain = _cluster.Client.GetGrain<IIdleGrain>("idle");
        Assert.Equal(1, await grain.Generation());
        Assert.True(await Eventually.HoldsAsync(() => IdleGrain.Deactivated.TryGetValue("idle", out var r) && r.Count == 1, TimeSpan.FromSeconds(10)),
            "OnDeactivateAsync never ran for an idle grain");
        Assert.Equal(DeactivationReason.IdleTimeout, IdleGrain.Deactivated["idle"][0]);
        Assert.Equal(2, await grain.Generation());
    }

    [Fact]
    public async Task DeactivateOnIdle_ends_the_activation_after_the_call()
    {
        var grain = _cluster.Client.GetGrain<IIdleGrain>("retire");
        Assert.Equal(1, await grain.Generation());
        await grain.Retire();
        Assert.True(await Eventually.HoldsAsync(() => IdleGrain.Deactivated.TryGetValue("retire", out var r) && r.Contains(DeactivationReason.Requested),
            TimeSpan.FromSeconds(10)));
        Assert.Equal(2, await grain.Generation());
    }

    [Fact]
    public async Task A_silo_that_joins_takes_grains_and_one_that_stops_hands_them_over()
    {
        var extra = await _cluster.StartSiloAsync();
        await _cluster.WaitForMembershipAsync();
        try
        {
            // Activate grains until one lands on the new silo.
            string? key = null;
            for (var i = 0; i < 200 && key is null; i++)
                if (await extra.GrainFactory.GetGrain<IEchoGrain>($"handover-{i}").WhereAmI() == extra.Address.ToString())
                    key = $"handover-{i}";
            Assert.NotNull(key);

            await _cluster.StopSiloAsync(extra);
            Assert.Equal(DeactivationReason.SiloShutdown, EchoGrain.Deactivations[key!]);
            await _cluster.WaitForMembershipAsync();
            var now = await _cluster.Client.GetGrain<IEchoGrain>(key!).WhereAmI();
            Assert.NotEqual(extra.Address.ToString(), now);
            Assert.Contains(now, _cluster.Silos.Select(s => s.Address.ToString()));
            Assert.Equal(2, EchoGrain.Activations[key!]);
            Assert.All(_cluster.Silos, s => Assert.Contains(s.View.Silos, e => e.Address == extra.Address && e.Status == Membership.SiloStatus.Left));
        }
        finally
        {
            await extra.StopAsync();
        }
    }
}
