using System.Globalization;
using Cluster.DataPlane;
using Cluster.Grains.Placement;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace Cluster.Grains.Hosting;

/// <summary>What every silo of a cluster shares, whoever hosts it (src/Silo, a test cluster, the bench).</summary>
public sealed record ClusterSiloSettings
{
    public required IReadOnlyList<string> Devices { get; init; }

    /// <summary>This silo's bulk channel, already bound; it is started with the silo and disposed when it stops.</summary>
    public BulkReceiver? BulkReceiver { get; init; }

    /// <summary>How bulk connections to other silos authenticate (their receivers use the same).</summary>
    public BulkChannelSecurity? BulkSecurity { get; init; }

    /// <summary>The address other silos reach the bulk channel at; the receiver's own when null.</summary>
    public System.Net.IPAddress? BulkAdvertisedAddress { get; init; }

    public int? HttpPort { get; init; }

    /// <summary>The period of each training job's reminder: how soon a job whose coordinator's silo died resumes elsewhere.</summary>
    public TimeSpan JobWatchPeriod { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>Failure detection: how fast a killed silo is declared dead. The defaults (13 s from SIGKILL to a survivor
/// answering, measured) are tuned here to about 2 s, as measured with these values.</summary>
public sealed record FailureDetectionSettings
{
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(1);
    public int NumMissedProbesLimit { get; init; } = 2;
    public TimeSpan TableRefreshTimeout { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan IAmAliveTablePublishTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

public static class ClusterSiloBuilderExtensions
{
    /// <summary>The grain storage the cluster's own grains (the device registry) keep their state in.</summary>
    public const string StorageName = "cluster";

    public static ISiloBuilder AddClusterGrains(this ISiloBuilder silo, ClusterSiloSettings settings)
    {
        var metadata = new Dictionary<string, string> { [SiloMetadataKeys.Devices] = string.Join(",", settings.Devices) };
        if (settings.BulkReceiver is { } receiver)
        {
            var address = settings.BulkAdvertisedAddress ?? receiver.EndPoint.Address;
            metadata[SiloMetadataKeys.BulkEndpoint] = new System.Net.IPEndPoint(address, receiver.EndPoint.Port).ToString(); // [v6]:port, v4:port
        }
        if (settings.HttpPort is { } http) metadata[SiloMetadataKeys.HttpEndpoint] = http.ToString(CultureInfo.InvariantCulture);
        silo.UseSiloMetadata(metadata);
        silo.Services.Configure<Orleans.Serialization.ExceptionSerializationOptions>(ClusterExceptionSerialization.Configure);
        silo.AddPlacementDirector<SiloKeyPlacement, SiloKeyPlacementDirector>();
        var sender = settings.BulkSecurity is { } security && settings.BulkReceiver is not null ? new BulkSender(security) : null;
        silo.Services.AddSingleton(new LocalSilo(settings.Devices, settings.BulkReceiver, sender, settings.BulkSecurity));
        silo.Services.AddSingleton(new Training.JobWatch(settings.JobWatchPeriod));
        silo.Configure<ReminderOptions>(o => { if (o.MinimumReminderPeriod > settings.JobWatchPeriod) o.MinimumReminderPeriod = settings.JobWatchPeriod; });
        silo.Services.AddSingleton<SiloDataPlane>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, DataPlaneLifecycle>();
        return silo;
    }

    public static ISiloBuilder UseFailureDetection(this ISiloBuilder silo, FailureDetectionSettings settings)
        => silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = settings.ProbeTimeout;
            o.NumMissedProbesLimit = settings.NumMissedProbesLimit;
            o.TableRefreshTimeout = settings.TableRefreshTimeout;
            o.IAmAliveTablePublishTimeout = settings.IAmAliveTablePublishTimeout;
        });
}

/// <summary>Starts the bulk channel before grains can run and closes it after they stopped.</summary>
internal sealed class DataPlaneLifecycle(LocalSilo local) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) => lifecycle.Subscribe(
        nameof(DataPlaneLifecycle),
        ServiceLifecycleStage.RuntimeInitialize,
        _ =>
        {
            local.BulkReceiver?.Start();
            return Task.CompletedTask;
        },
        async _ =>
        {
            local.BulkSender?.Dispose();
            if (local.BulkReceiver is { } receiver) await receiver.DisposeAsync();
        });
}
