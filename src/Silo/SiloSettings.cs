using System.Net;
using Cluster.Grains.Hosting;

namespace Cluster.Silo;

/// <summary>Everything one silo process is told; <see cref="SiloConfiguration"/> reads it, <see cref="Validate"/> checks it.</summary>
public sealed record SiloSettings
{
    public string ClusterId { get; init; } = "cluster";
    public string ServiceId { get; init; } = "cluster";
    /// <summary>Null: the process's host name with its silo port, so several silos on one machine differ.</summary>
    public string? Name { get; init; }
    public MembershipSetting Membership { get; init; } = MembershipSetting.Localhost(null);
    /// <summary>Orleans' Kubernetes hosting on top of PostgreSQL membership: pod name and address, dead pods' entries removed.</summary>
    public bool Kubernetes { get; init; }
    public IReadOnlyList<string> Devices { get; init; } = ["cpu"];

    public int SiloPort { get; init; } = 11111;
    public int GatewayPort { get; init; } = 30000;
    public int HttpPort { get; init; } = 8080;
    public int BulkPort { get; init; } = 11112;

    /// <summary>The address other silos and clients use; without TLS or <see cref="InsecureListenAny"/> it is loopback.</summary>
    public IPAddress? AdvertisedAddress { get; init; }
    /// <summary>Listen on every interface without TLS: anyone who reaches the ports can join or call grains.</summary>
    public bool InsecureListenAny { get; init; }

    public string? TlsCertificate { get; init; }
    public string? TlsKey { get; init; }
    public string? TlsAuthority { get; init; }
    /// <summary>Authenticates bulk-channel connections when there is no TLS.</summary>
    public string? ClusterSecret { get; init; }

    public FailureDetectionSettings FailureDetection { get; init; } = new();

    /// <summary>How often a training job's reminder checks that its coordinator runs; after the coordinator's silo
    /// died, the job resumes on another silo within about this long.</summary>
    public TimeSpan JobWatchPeriod { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Bearer tokens the serving API accepts; none: it is open (health, readiness and metrics always are).</summary>
    public IReadOnlyList<string> ApiKeys { get; init; } = [];

    /// <summary>The largest request body the serving API reads (larger: 413).</summary>
    public int MaxRequestBytes { get; init; } = 2 * 1024 * 1024;

    public bool UsesTls => TlsCertificate is not null;
    public bool ListensOnAnyAddress => UsesTls || InsecureListenAny;

    /// <summary>The bulk channel's secret: the configured one, else (loopback only) one derived from the cluster id.</summary>
    public string EffectiveClusterSecret => ClusterSecret ?? $"loopback:{ClusterId}";

    /// <summary>Throws ArgumentException naming the first bad setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ClusterId)) throw new ArgumentException("the cluster id is empty");
        if (string.IsNullOrWhiteSpace(ServiceId)) throw new ArgumentException("the service id is empty");
        var ports = new[] { ("silo", SiloPort), ("gateway", GatewayPort), ("http", HttpPort), ("bulk", BulkPort) };
        foreach (var (what, port) in ports)
            if (port is < 1 or > 65535) throw new ArgumentException($"the {what} port {port} is not a port number (1..65535)");
        var clash = ports.GroupBy(p => p.Item2).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null) throw new ArgumentException($"the {string.Join(" and ", clash.Select(p => p.Item1))} ports are both {clash.Key}");
        var tlsFiles = new[] { TlsCertificate, TlsKey, TlsAuthority };
        if (tlsFiles.Any(f => f is not null) && tlsFiles.Any(f => f is null))
            throw new ArgumentException("TLS needs all three of --tls-cert, --tls-key and --tls-ca");
        if (Kubernetes && Membership.Kind != MembershipKind.Postgres)
            throw new ArgumentException("--kubernetes adds Kubernetes hosting to PostgreSQL membership: give --membership postgres:CONNSTR");
        if (Membership.Kind == MembershipKind.Localhost && ListensOnAnyAddress)
            throw new ArgumentException("localhost membership is for one machine; it cannot listen on other interfaces (use postgres:CONNSTR)");
        if (InsecureListenAny && !UsesTls && ClusterSecret is null)
            throw new ArgumentException("--insecure-listen-any without TLS needs --cluster-secret, which guards the bulk channel");
        if (!ListensOnAnyAddress && AdvertisedAddress is not null && !IPAddress.IsLoopback(AdvertisedAddress))
            throw new ArgumentException($"advertised address {AdvertisedAddress} is not loopback, but without TLS the silo listens on loopback only (configure --tls-cert/--tls-key/--tls-ca, or pass --insecure-listen-any)");
    }
}

public enum MembershipKind { Localhost, Postgres }

/// <summary><c>localhost[:PRIMARY_SILO_PORT]</c> (Orleans' development clustering: the primary silo holds the
/// table, in memory) or <c>postgres:CONNSTR</c> (Orleans' ADO.NET clustering).</summary>
public sealed record MembershipSetting(MembershipKind Kind, int? PrimarySiloPort, string? ConnectionString)
{
    public static MembershipSetting Localhost(int? primarySiloPort) => new(MembershipKind.Localhost, primarySiloPort, null);
    public static MembershipSetting Postgres(string connectionString) => new(MembershipKind.Postgres, null, connectionString);

    public static MembershipSetting Parse(string text)
    {
        if (text == "localhost") return Localhost(null);
        if (text.StartsWith("localhost:", StringComparison.Ordinal))
            return int.TryParse(text.AsSpan(10), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
                ? Localhost(port)
                : throw new ArgumentException($"membership '{text}': after localhost: comes the primary silo's port");
        if (text.StartsWith("postgres:", StringComparison.Ordinal))
        {
            var connection = text[9..];
            if (connection.Length == 0) throw new ArgumentException("membership 'postgres:' needs a connection string after the colon");
            return Postgres(connection);
        }
        throw new ArgumentException($"unknown membership '{(text.Length > 40 ? text[..40] + "…" : text)}' (known: localhost, localhost:PORT, postgres:CONNSTR)");
    }

    /// <summary>For logs: never the connection string, which may hold a password.</summary>
    public override string ToString() => Kind == MembershipKind.Postgres ? "postgres" : PrimarySiloPort is { } p ? $"localhost (primary :{p})" : "localhost";
}
