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

    /// <summary>Each silo's HTTP address (the serving API, health, metrics), the first silo's first.</summary>
    public IReadOnlyList<string> HttpUrls { get; private set; } = [];

    /// <param name="httpPort">the first silo's HTTP port (the others get free ones); a free one when null or 0</param>
    /// <param name="apiKeys">keys the silos' serving API requires</param>
    public static async Task<EmbeddedCluster> StartAsync(int silos, CancellationToken cancellation, int? httpPort = null, IReadOnlyList<string>? apiKeys = null)
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
                    SiloPort = ports[4 * i], GatewayPort = ports[4 * i + 1], HttpPort = i == 0 && httpPort is { } p and not 0 ? p : ports[4 * i + 2], BulkPort = ports[4 * i + 3],
                    ApiKeys = apiKeys ?? [],
                };
                var silo = await SiloHost.BuildAsync(settings, new Dictionary<string, string?>(), cancellation, embedded: true);
                cluster._silos.Add(silo);
                await silo.StartAsync(cancellation);
                cluster.HttpUrls = [.. cluster.HttpUrls, $"http://127.0.0.1:{settings.HttpPort}"];
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
