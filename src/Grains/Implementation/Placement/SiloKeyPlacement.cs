using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace Cluster.Grains.Placement;

/// <summary>Places a grain on the silo its key names (<see cref="DeviceKey"/>), and only there: workers and
/// replicas own a device of one silo, so activating them anywhere else would be wrong, not slower.</summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("cluster.SiloKeyPlacement")]
public sealed class SiloKeyPlacement : PlacementStrategy;

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloKeyPlacementAttribute() : PlacementAttribute(new SiloKeyPlacement());

internal sealed class SiloKeyPlacementDirector(ISiloMetadataCache metadata) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = DeviceKey.Parse(target.GrainIdentity.Key.ToString()!);
        var silo = SiloAddress.FromParsableString(key.Silo);
        if (!context.GetCompatibleSilos(target).Contains(silo))
            throw new DeviceUnavailableException($"silo {key.Silo} named by grain {target.GrainIdentity} is not an active member of the cluster");
        // Metadata arrives shortly after a silo joins; until then the grain's own activation check is the guard.
        if (key.Device is not null && metadata.GetSiloMetadata(silo).Metadata.TryGetValue(SiloMetadataKeys.Devices, out var advertised)
            && !DeviceName.ParseList(advertised).Contains(key.Device))
            throw new DeviceUnavailableException($"silo {key.Silo} has no device {key.Device} (it advertises {advertised})");
        return Task.FromResult(silo);
    }
}
