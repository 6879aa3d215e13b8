using System.Net;
using Cluster.DataPlane;
using Cluster.Grains.Hosting;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace Cluster.Grains.Tests;

/// <summary>In-process Orleans clusters wired as src/Silo wires a silo: our grains, device metadata, the placement
/// director, a bulk channel per silo on an ephemeral loopback port, memory grain storage, fast failure detection.</summary>
public static class TestClusters
{
    public const string BulkSecret = "test-cluster-secret";

    /// <param name="devices">each silo's devices, by its index (silo names are Primary, Secondary_1, …)</param>
    public static async Task<InProcessTestCluster> StartAsync(short silos, Func<int, string[]> devices)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((options, silo) =>
        {
            var index = options.SiloName == "Primary" ? 0 : int.Parse(options.SiloName.Split('_')[1]);
            var security = BulkChannelSecurity.SharedSecret(BulkSecret);
            silo.AddClusterGrains(new ClusterSiloSettings
            {
                Devices = devices(index),
                BulkReceiver = new BulkReceiver(new IPEndPoint(IPAddress.Loopback, 0), security),
                BulkSecurity = security,
            });
            silo.UseFailureDetection(new FailureDetectionSettings());
            silo.AddMemoryGrainStorage(ClusterSiloBuilderExtensions.StorageName);
            silo.UseInMemoryReminderService();
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
