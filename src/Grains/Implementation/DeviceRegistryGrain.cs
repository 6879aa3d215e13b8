using Cluster.Grains.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace Cluster.Grains;

/// <summary>Who holds which device. The leases are grain state, so a registry re-activated on another silo (its
/// own silo died) still knows them; leases on silos that are no longer active are dropped whenever it looks.</summary>
public sealed class DeviceRegistryGrain(
    [PersistentState("device-leases", ClusterSiloBuilderExtensions.StorageName)] IPersistentState<DeviceLeases> leases,
    IClusterMembershipService membership,
    ISiloMetadataCache metadata,
    ILocalSiloDetails here) : Grain, IDeviceRegistryGrain
{
    public async Task<DeviceLease> Acquire(DeviceRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Owner)) throw new ArgumentException("a device request needs an owner");
        if (request.Kind is not null and not ("cpu" or "cuda"))
            throw new ArgumentException($"unknown device kind '{request.Kind}' (known kinds: cpu, cuda)");
        await DropLeasesOfDepartedSilosAsync();
        var matching = ActiveDevices()
            .Where(d => request.Kind is null || DeviceName.Kind(d.Device) == request.Kind)
            .Where(d => request.Silo is null || d.Member.SiloAddress.ToParsableString() == request.Silo || d.Member.Name == request.Silo)
            .ToList();
        var held = matching.FirstOrDefault(d => leases.State.Holders.GetValueOrDefault(d.Key.ToString()) == request.Owner);
        if (held.Member is not null) return Lease(held, request.Owner);

        var free = matching.Where(d => !leases.State.Holders.ContainsKey(d.Key.ToString())).ToList();
        if (free.Count == 0)
        {
            var what = $"{request.Kind ?? "any"} device{(request.Silo is null ? "" : $" on silo {request.Silo}")}";
            var holders = matching.Count == 0 ? "the cluster has none"
                : "every one is held: " + string.Join(", ", matching.Select(d => $"{d.Device}@{d.Member.Name} by {leases.State.Holders[d.Key.ToString()]}"));
            throw new NoFreeDeviceException($"no free {what} for {request.Owner}: {holders}");
        }
        // Spread owners over silos: a free device of the silo with the most free devices, the lowest-numbered first.
        var pick = free.GroupBy(d => d.Member.SiloAddress)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key.ToParsableString(), StringComparer.Ordinal)
            .First().First();
        leases.State.Holders[pick.Key.ToString()] = request.Owner;
        await leases.WriteStateAsync();
        return Lease(pick, request.Owner);
    }

    public async Task<bool> Release(string deviceKey, string owner)
    {
        if (leases.State.Holders.GetValueOrDefault(deviceKey) != owner) return false;
        leases.State.Holders.Remove(deviceKey);
        await leases.WriteStateAsync();
        return true;
    }

    public async Task<ClusterStatus> GetStatus()
    {
        await DropLeasesOfDepartedSilosAsync();
        var members = membership.CurrentSnapshot.Members.Values
            .OrderBy(m => m.Name, StringComparer.Ordinal).ThenBy(m => m.SiloAddress.ToParsableString(), StringComparer.Ordinal)
            .Select(m => new MemberStatus(
                m.SiloAddress.ToParsableString(), m.Name, m.Status.ToString(),
                m.Status == SiloStatus.Active
                    ? DevicesOf(m.SiloAddress).Select(d => new DeviceStatus(d, leases.State.Holders.GetValueOrDefault(new DeviceKey(m.SiloAddress.ToParsableString(), d).ToString()))).ToList()
                    : []))
            .ToList();
        return new ClusterStatus(members, here.SiloAddress.ToParsableString());
    }

    readonly record struct ActiveDevice(ClusterMember Member, string Device, DeviceKey Key);

    IEnumerable<ActiveDevice> ActiveDevices()
        => membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .SelectMany(m => DevicesOf(m.SiloAddress).Select(d => new ActiveDevice(m, d, new DeviceKey(m.SiloAddress.ToParsableString(), d))));

    /// <summary>A silo's advertised devices; none while its metadata has not reached this silo.</summary>
    IReadOnlyList<string> DevicesOf(SiloAddress silo)
        => metadata.GetSiloMetadata(silo).Metadata.TryGetValue(SiloMetadataKeys.Devices, out var list) ? DeviceName.ParseList(list) : [];

    async Task DropLeasesOfDepartedSilosAsync()
    {
        var active = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress.ToParsableString()).ToHashSet(StringComparer.Ordinal);
        var departed = leases.State.Holders.Keys.Where(k => !active.Contains(DeviceKey.Parse(k).Silo)).ToList();
        if (departed.Count == 0) return;
        foreach (var key in departed) leases.State.Holders.Remove(key);
        await leases.WriteStateAsync();
    }

    static DeviceLease Lease(ActiveDevice device, string owner)
        => new(device.Key.ToString(), device.Member.SiloAddress.ToParsableString(), device.Member.Name, device.Device, owner);
}

/// <summary>The registry's state: device key → owner.</summary>
[GenerateSerializer, Alias("cluster.DeviceLeases")]
public sealed class DeviceLeases
{
    [Id(0)] public Dictionary<string, string> Holders { get; set; } = new(StringComparer.Ordinal);
}
