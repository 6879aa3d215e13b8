using Orleans.TestingHost;

namespace Cluster.Grains.Tests;

/// <summary>Three silos with one CPU device each, shared by the tests of the "cluster" collection. None of these
/// tests kills or adds a silo (the "failover" collection has a cluster of its own for that).</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync() => Cluster = await TestClusters.StartAsync(3, _ => ["cpu"]);

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition("cluster")]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>;
