namespace Cluster.Grains;

/// <summary>The silo metadata entries (Orleans' <c>UseSiloMetadata</c>) through which each silo tells the others
/// what it has.</summary>
public static class SiloMetadataKeys
{
    /// <summary>The silo's devices, comma-separated: <c>cpu,cuda:0</c>.</summary>
    public const string Devices = "cluster.devices";

    /// <summary>Where the silo's bulk channel listens for tensor bytes: <c>HOST:PORT</c>.</summary>
    public const string BulkEndpoint = "cluster.bulk";

    /// <summary>The silo's HTTP port (health, readiness, metrics, the API).</summary>
    public const string HttpEndpoint = "cluster.http";
}
