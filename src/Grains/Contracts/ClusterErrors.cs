namespace Cluster.Grains;

/// <summary>Every device of the requested kind is held by another owner.</summary>
[GenerateSerializer, Alias("cluster.NoFreeDeviceException")]
public sealed class NoFreeDeviceException(string message) : Exception(message);

/// <summary>A grain's key names a silo that is not (or no longer) in the cluster, or a device that silo does not have.</summary>
[GenerateSerializer, Alias("cluster.DeviceUnavailableException")]
public sealed class DeviceUnavailableException(string message) : Exception(message);
