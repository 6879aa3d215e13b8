using System.Diagnostics;
using Cluster.Runtime.Testing;

namespace Cluster.Runtime.Tests;

/// <summary>Kills silos, so each test has its own cluster.</summary>
public sealed class SiloFailureTests
{
    static readonly TimeSpan Death = TimeSpan.FromSeconds(2);

    static Task<TestCluster> StartAsync(string? membership = null) => TestCluster.StartAsync(new TestClusterOptions
    {
        InitialSilos = 3,
        Grains = TestGrains.Register,
        Membership = membership,
        HeartbeatPeriod = TimeSpan.FromMilliseconds(250),
        DeathTimeout = Death,
    });

    [Fact]
    public async Task A_killed_silos_grains_answer_again_elsewhere_and_its_call_in_flight_fails_clearly()
    {
        await using var cluster = await StartAsync();
        await KillAndRecoverAsync(cluster, "kill-dev");
    }

    /// <summary>Shared with the PostgreSQL test: a grain on a non-primary silo, a call hanging in it, a kill.</summary>
    internal static async Task KillAndRecoverAsync(TestCluster cluster, string prefix)
    {
        var victim = cluster.Silos[^1];
        var client = cluster.Client;
        string key = "";
        for (var i = 0; ; i++)
        {
            key = $"{prefix}-{i}";
            if (await victim.GrainFactory.GetGrain<IEchoGrain>(key).WhereAmI() == victim.Address.ToString()) break;
            Assert.True(i < 200, "no grain landed on the victim silo");
        }
        var hangKey = key + "-hang";
        string hangHome;
        for (var i = 0; ; i++)
        {
            hangKey = $"{prefix}-hang-{i}";
            hangHome = await client.GetGrain<IEchoGrain>(hangKey).WhereAmI();
            if (hangHome == victim.Address.ToString()) break;
            Assert.True(i < 200, "no grain landed on the victim silo");
        }

        // From a surviving silo, so the error is about the victim as a grain host (a client whose gateway
        // happened to be the victim would get "gateway ... failed", also clear, but a different message).
        var inFlight = cluster.Silos[0].GrainFactory.GetGrain<IEchoGrain>(hangKey).Hang(CancellationToken.None);
        Assert.True(await Eventually.HoldsAsync(() => EchoGrain.Hanging.ContainsKey(hangKey), TimeSpan.FromSeconds(10)));
        var killedAt = Stopwatch.StartNew();
        await cluster.KillSiloAsync(victim);

        // The call in flight fails with a clear error, well before the 30 s call timeout.
        var error = await Assert.ThrowsAsync<SiloUnavailableException>(() => inFlight.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains(victim.Address.ToString(), error.Message);
        Assert.True(killedAt.Elapsed < TimeSpan.FromSeconds(10), $"the in-flight call took {killedAt.Elapsed} to fail");

        // Within the detection time (death timeout plus a heartbeat round or two) the grain answers from a survivor.
        string? home = null;
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            try { home = await client.GetGrain<IEchoGrain>(key).WhereAmI(); return true; }
            catch (SiloUnavailableException) { return false; }
        }, Death * 4), $"the grain did not come back within {Death * 4}");
        Assert.NotEqual(victim.Address.ToString(), home);
        Assert.Contains(home, cluster.Silos.Select(s => s.Address.ToString()));
        Assert.True(killedAt.Elapsed < Death * 4 + TimeSpan.FromSeconds(2), $"recovery took {killedAt.Elapsed}");

        await cluster.WaitForMembershipAsync();
        Assert.All(cluster.Silos, s => Assert.Contains(s.View.Silos, e => e.Address == victim.Address && e.Status == Membership.SiloStatus.Dead));
    }

    [Fact]
    public async Task A_new_silo_on_a_running_cluster_is_seen_by_all_and_a_killed_one_is_dropped()
    {
        await using var cluster = await StartAsync();
        var added = await cluster.StartSiloAsync();
        await cluster.WaitForMembershipAsync();
        Assert.All(cluster.Silos, s => Assert.Equal(4, s.View.Active.Count));
        await cluster.KillSiloAsync(added);
        await cluster.WaitForMembershipAsync();
        Assert.All(cluster.Silos, s => Assert.Equal(3, s.View.Active.Count));
    }
}
