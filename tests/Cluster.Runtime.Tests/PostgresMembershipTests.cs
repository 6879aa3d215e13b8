using Cluster.Runtime.Membership;
using Cluster.Runtime.Testing;

namespace Cluster.Runtime.Tests;

/// <summary>PostgreSQL comes from scripts/test.sh, which starts a throwaway server on loopback and sets
/// CLUSTER_TEST_POSTGRES. Without it these tests skip, saying so.</summary>
public static class TestPostgres
{
    public static string? ConnectionString => Environment.GetEnvironmentVariable("CLUSTER_TEST_POSTGRES");
    public const string SkipReason = "CLUSTER_TEST_POSTGRES is not set (scripts/test.sh starts a throwaway PostgreSQL and sets it)";
}

public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (TestPostgres.ConnectionString is null) Skip = TestPostgres.SkipReason;
    }
}

public sealed class PostgresMembershipTests
{
    [PostgresFact]
    public async Task The_contract_tests_ran_against_postgres_too()
    {
        // MembershipContractTests adds its "postgres" rows only when the server is configured; this test
        // makes that visible, and checks the server answers.
        Assert.Contains(MembershipContractTests.Tables().Cast<object[]>().Select(row => (string)row[0]), kind => kind == "postgres");
        await using var table = await PostgresMembership.OpenAsync(TestPostgres.ConnectionString!, "probe", default);
        Assert.NotNull(await table.ReadSilosAsync(default));
    }

    [PostgresFact]
    public async Task A_cluster_on_postgres_membership_routes_calls_and_survives_a_killed_silo()
    {
        await using var cluster = await TestCluster.StartAsync(new TestClusterOptions
        {
            InitialSilos = 3,
            Grains = TestGrains.Register,
            Membership = "postgres:" + TestPostgres.ConnectionString,
            HeartbeatPeriod = TimeSpan.FromMilliseconds(250),
            DeathTimeout = TimeSpan.FromSeconds(2),
        });
        var places = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => cluster.Client.GetGrain<IEchoGrain>($"pg-route-{i}").WhereAmI()));
        Assert.Equal(3, places.Distinct().Count());
        await SiloFailureTests.KillAndRecoverAsync(cluster, "pg-kill");
    }

    [Fact]
    public async Task An_unreachable_database_is_a_clear_error()
    {
        var e = await Assert.ThrowsAsync<SiloUnavailableException>(() =>
            PostgresMembership.OpenAsync("Host=127.0.0.1;Port=1;Timeout=2", "x", default));
        Assert.Contains("PostgreSQL membership: cannot open the database", e.Message);
    }
}
