using Cluster.Silo;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace Cluster.Client.Training;

/// <summary>The embedded single-machine cluster: N silos in this process on loopback, localhost membership, one CPU
/// device each, so that a job without --cluster runs through the same grains as on a real cluster.</summary>
public sealed class EmbeddedCluster : IAsyncDisposable
{
    readonly List<WebApplication> _silos = [];

    public IGrainFactory GrainFactory => _silos[0].Services.GetRequiredService<IGrainFactory>();

    public static async Task<EmbeddedCluster> StartAsync(int silos, CancellationToken cancellation)
    {
        var cluster = new EmbeddedCluster();
        try
        {
            var ports = LoopbackPorts.Free(4 * silos);
            for (var i = 0; i < silos; i++)
            {
                var settings = new SiloSettings
                {
                    ClusterId = $"embedded-{Environment.ProcessId}", Name = $"embedded-{i}",
                    Membership = MembershipSetting.Localhost(ports[0]),
                    SiloPort = ports[4 * i], GatewayPort = ports[4 * i + 1], HttpPort = ports[4 * i + 2], BulkPort = ports[4 * i + 3],
                };
                var silo = await SiloHost.BuildAsync(settings, new Dictionary<string, string?>(), cancellation, embedded: true);
                cluster._silos.Add(silo);
                await silo.StartAsync(cancellation);
            }
            await cluster.WaitForDevicesAsync(silos, cancellation);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Silo metadata (the devices) reaches the registry shortly after the silos are up.</summary>
    async Task WaitForDevicesAsync(int devices, CancellationToken cancellation)
    {
        var registry = GrainFactory.GetGrain<Cluster.Grains.IDeviceRegistryGrain>(Cluster.Grains.DeviceRegistry.Key);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while ((await registry.GetStatus()).Members.Sum(m => m.Devices.Count) < devices)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the embedded cluster's {devices} devices did not all register within a minute");
            await Task.Delay(50, cancellation);
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _silos.Count - 1; i >= 0; i--) // the primary (it holds the membership) last
        {
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await _silos[i].StopAsync(patience.Token); }
            catch (Exception e) when (e is OrleansException or OperationCanceledException) { }
            await _silos[i].DisposeAsync();
        }
        _silos.Clear();
    }
}
