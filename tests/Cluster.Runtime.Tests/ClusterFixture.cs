using Cluster.Runtime.Testing;

namespace Cluster.Runtime.Tests;

/// <summary>Three silos on loopback with development membership, shared by the tests in the "cluster"
/// collection. Silo 1 advertises one CUDA device and silo 2 two, for device placement.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await TestCluster.StartAsync(new TestClusterOptions
        {
            InitialSilos = 3,
            Grains = TestGrains.Register,
            DeathTimeout = TimeSpan.FromSeconds(10), // these tests do not kill silos; a loaded CI box must not fake a death
            ConfigureSilo = (index, options) =>
            {
                options.CollectionPeriod = TimeSpan.FromMilliseconds(100);
                options.Devices = index switch { 0 => ["cpu"], 1 => ["cpu", "cuda:0"], _ => ["cpu", "cuda:0", "cuda:1"] };
            },
        });
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition("cluster")]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>;

public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes.</summary>
    public static async Task<bool> HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition()) return true;
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(20);
        }
    }

    public static Task<bool> HoldsAsync(Func<bool> condition, TimeSpan timeout) => HoldsAsync(() => Task.FromResult(condition()), timeout);
}
