namespace Cluster.Runtime;

/// <summary>A silo's settings. The Silo executable binds these from appsettings.json, environment
/// variables (CLUSTER_*, and Kubernetes' POD_NAME / POD_IP) and the command line.</summary>
public sealed class SiloOptions
{
    public string ClusterId { get; set; } = "cluster";
    /// <summary>This silo's name in the membership table (a pod name in Kubernetes).</summary>
    public string Name { get; set; } = Environment.MachineName;
    /// <summary>The address other silos use to reach this one (a pod IP in Kubernetes).</summary>
    public string AdvertisedHost { get; set; } = "127.0.0.1";
    /// <summary>The address Kestrel binds; 0.0.0.0 for every interface.</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";
    /// <summary>Internal (silo-to-silo, HTTP/2 cleartext) port; 0 picks a free one.</summary>
    public int Port { get; set; } = 11111;
    /// <summary>Public gateway port (clients, /health, /ready, /metrics); 0 picks a free one.</summary>
    public int GatewayPort { get; set; } = 30000;
    /// <summary>Internal raw-TCP port for large binary segments between silos (cluster secret required); 0 picks a free one.</summary>
    public int BulkPort { get; set; } = 11112;
    /// <summary>Calls whose binary segments reach this many bytes send them over the bulk port.</summary>
    public long BulkThresholdBytes { get; set; } = 1 << 20;
    /// <summary>memory | dev (this silo holds the table) | dev:HOST:PORT (join silo 0 there) | postgres:CONNECTION-STRING</summary>
    public string Membership { get; set; } = "memory";
    public IReadOnlyList<string> Devices { get; set; } = ["cpu"];
    /// <summary>Required by every internal call. Needed unless membership is "memory".</summary>
    public string? ClusterSecret { get; set; }

    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);
    public TimeSpan HeartbeatPeriod { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>A silo whose heartbeat is older than this is declared dead.</summary>
    public TimeSpan DeathTimeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>Default idle time before an activation is deactivated ([CollectionAge] overrides it).</summary>
    /// <summary>How long a starting silo keeps trying to reach the membership table before giving up.</summary>
    public TimeSpan JoinTimeout { get; set; } = TimeSpan.FromSeconds(60);
    public TimeSpan CollectionAge { get; set; } = TimeSpan.FromMinutes(15);
    public TimeSpan CollectionPeriod { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>Largest message (call or result, JSON and binary segments) a silo accepts.</summary>
    public long MaxMessageBytes { get; set; } = 1L << 30;

    /// <summary>Throws ArgumentException naming the first setting that cannot work.</summary>
    public void Validate()
    {
        if (Devices.Count == 0 || Devices.Any(string.IsNullOrWhiteSpace) || Devices.Distinct().Count() != Devices.Count)
            throw new ArgumentException($"devices '{string.Join(",", Devices)}' must be a non-empty list of distinct names (cpu, cuda:0, ...)");
        int[] ports = [Port, GatewayPort, BulkPort];
        if (ports.Any(p => p is < 0 or > 65535) || ports.Where(p => p != 0).Distinct().Count() != ports.Count(p => p != 0))
            throw new ArgumentException($"ports {Port} (internal), {GatewayPort} (gateway) and {BulkPort} (bulk) must be distinct values in 0..65535");
        if (HeartbeatPeriod <= TimeSpan.Zero || DeathTimeout <= HeartbeatPeriod)
            throw new ArgumentException($"the death timeout ({DeathTimeout}) must exceed the heartbeat period ({HeartbeatPeriod})");
        if (CallTimeout <= TimeSpan.Zero) throw new ArgumentException("the call timeout must be positive");
        if (Membership != "memory" && string.IsNullOrEmpty(ClusterSecret))
            throw new ArgumentException($"membership '{MembershipKind}' joins other silos, so a cluster secret is required (--cluster-secret or CLUSTER_SECRET)");
    }

    internal string MembershipKind => Membership.Split(':', 2)[0];
}
