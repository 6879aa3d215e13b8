namespace Cluster.Grains;

/// <summary>Every device of the requested kind is held by another owner.</summary>
[GenerateSerializer, Alias("cluster.NoFreeDeviceException")]
public sealed class NoFreeDeviceException(string message) : Exception(message);

/// <summary>A grain's key names a silo that is not (or no longer) in the cluster, or a device that silo does not have.</summary>
[GenerateSerializer, Alias("cluster.DeviceUnavailableException")]
public sealed class DeviceUnavailableException(string message) : Exception(message);

/// <summary>Lets Orleans carry our own exceptions between silos and to clients with their type and message (a worker's
/// TorchException, a corpus or checkpoint error), not as a codec failure that hides them. Every silo and client sets it.</summary>
public static class ClusterExceptionSerialization
{
    public static void Configure(Orleans.Serialization.ExceptionSerializationOptions options)
    {
        if (!options.SupportedNamespacePrefixes.Contains("Cluster.")) options.SupportedNamespacePrefixes.Add("Cluster.");
    }
}

public static class ExceptionText
{
    /// <summary>The first line of a message: Orleans' exceptions append their inner exception's text and a stack over
    /// several lines, which a person reading one error line (a CLI, an HTTP error body, a job's status) does not need.</summary>
    public static string FirstLine(this Exception e) => e.Message.Split('\n')[0].Trim();
}
