namespace Cluster.Grains;

/// <summary>The cluster's devices and who holds them: each device (a CPU or a GPU of a silo) goes to one owner at a
/// time. Devices come from the silos' metadata; a silo that leaves the cluster takes its devices and their leases
/// with it. One registry per cluster, under <see cref="DeviceRegistry.Key"/>.</summary>
[Alias("cluster.IDeviceRegistryGrain")]
public interface IDeviceRegistryGrain : IGrainWithStringKey
{
    /// <summary>A free device for <paramref name="request"/>'s owner; <see cref="NoFreeDeviceException"/> if none is free.
    /// An owner asking again for a device it already holds gets the same lease.</summary>
    [Alias("Acquire")]
    Task<DeviceLease> Acquire(DeviceRequest request);

    /// <summary>Frees a device; false if <paramref name="owner"/> did not hold it.</summary>
    [Alias("Release")]
    Task<bool> Release(string deviceKey, string owner);

    /// <summary>Every member the cluster knows of (dead ones too, until Orleans forgets them), its devices and their holders.</summary>
    [Alias("GetStatus")]
    Task<ClusterStatus> GetStatus();
}

public static class DeviceRegistry
{
    public const string Key = "devices";
}

/// <summary>What an owner asks for: any free device, or one of a kind (<c>cpu</c>, <c>cuda</c>), optionally on one silo.</summary>
[GenerateSerializer, Immutable, Alias("cluster.DeviceRequest")]
public sealed record DeviceRequest(
    [property: Id(0)] string Owner,
    [property: Id(1)] string? Kind = null,
    [property: Id(2)] string? Silo = null);

/// <summary>A device handed to an owner. <see cref="Key"/> is the key for grains placed on it.</summary>
[GenerateSerializer, Immutable, Alias("cluster.DeviceLease")]
public sealed record DeviceLease(
    [property: Id(0)] string Key,
    [property: Id(1)] string Silo,
    [property: Id(2)] string SiloName,
    [property: Id(3)] string Device,
    [property: Id(4)] string Owner);

[GenerateSerializer, Immutable, Alias("cluster.ClusterStatus")]
public sealed record ClusterStatus(
    [property: Id(0)] IReadOnlyList<MemberStatus> Members,
    [property: Id(1)] string RegistrySilo);

/// <summary>One silo: its membership status (<c>Active</c>, <c>Joining</c>, <c>ShuttingDown</c>, <c>Dead</c>, …) and,
/// while it is active, its devices.</summary>
[GenerateSerializer, Immutable, Alias("cluster.MemberStatus")]
public sealed record MemberStatus(
    [property: Id(0)] string Silo,
    [property: Id(1)] string Name,
    [property: Id(2)] string Status,
    [property: Id(3)] IReadOnlyList<DeviceStatus> Devices);

/// <summary>A device and its holder, if any.</summary>
[GenerateSerializer, Immutable, Alias("cluster.DeviceStatus")]
public sealed record DeviceStatus(
    [property: Id(0)] string Device,
    [property: Id(1)] string? Owner);
