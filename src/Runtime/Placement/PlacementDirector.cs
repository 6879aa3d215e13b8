using Cluster.Runtime.Activation;
using Cluster.Runtime.Membership;

namespace Cluster.Runtime.Placement;

/// <summary>Picks the silo for a grain that is not active anywhere, by its class's placement attribute.</summary>
internal sealed class PlacementDirector(IClusterMembership directory)
{
    /// <summary>Silos in <paramref name="avoid"/> (ones that just refused the grain, e.g. while shutting down)
    /// are skipped unless nothing else is left.</summary>
    public async Task<SiloAddress> PickAsync(GrainClass grainClass, GrainId grain, SiloAddress self, ClusterView view,
        IReadOnlySet<SiloAddress> avoid, CancellationToken cancellation)
    {
        var active = view.Active.Where(s => !avoid.Contains(s.Address)).ToList();
        if (active.Count == 0) active = view.Active.ToList();
        if (active.Count == 0) throw new SiloUnavailableException($"no active silo to place {grain} on");
        switch (grainClass.Placement)
        {
            case PreferLocalPlacementAttribute when view.IsActive(self) && !avoid.Contains(self):
                return self;
            case HashBasedPlacementAttribute:
                var hash = StableHash(grain.ToString());
                return active[(int)(hash % (ulong)active.Count)].Address;
            case DevicePlacementAttribute device:
                return await PickDeviceSiloAsync(device.Kind, grain, active, cancellation).ConfigureAwait(false);
            default:
                return active[Random.Shared.Next(active.Count)].Address;
        }
    }

    /// <summary>FNV-1a over the UTF-16 code units: the same on every silo and every run (string.GetHashCode is not).</summary>
    static ulong StableHash(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text) hash = (hash ^ c) * 1099511628211UL;
        return hash;
    }

    /// <summary>A silo with a free device of the kind, chosen at random among those with the most free.</summary>
    async Task<SiloAddress> PickDeviceSiloAsync(string? kind, GrainId grain, IReadOnlyList<SiloEntry> active, CancellationToken cancellation)
    {
        var pinned = await directory.ListPinnedAsync(cancellation).ConfigureAwait(false);
        var free = active
            .Select(s => (s.Address, Free: s.Devices.Count(d => (kind is null || Catalog.DeviceKind(d) == kind)
                && !pinned.Any(p => p.Silo == s.Address && p.Device == d))))
            .Where(s => s.Free > 0)
            .ToList();
        if (free.Count == 0)
        {
            var held = string.Join(", ", pinned.Select(p => $"{p.Device}@{p.Silo} by {p.Grain}"));
            throw new NoFreeDeviceException($"no free {kind ?? "any"} device for {grain}: every one is held ({held})");
        }
        var most = free.Max(s => s.Free);
        var best = free.Where(s => s.Free == most).ToList();
        return best[Random.Shared.Next(best.Count)].Address;
    }
}
