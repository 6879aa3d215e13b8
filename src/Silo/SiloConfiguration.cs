using System.Globalization;
using System.Net;
using Cluster.Grains;
using Cluster.Grains.Hosting;
using Microsoft.Extensions.Configuration;

namespace Cluster.Silo;

/// <summary><see cref="SiloSettings"/> from, lowest precedence first: appsettings.json (section "Silo"), the environment
/// (CLUSTER_*, and Kubernetes' POD_NAME and POD_IP), then the command line.</summary>
public static class SiloConfiguration
{
    public const string Usage = """
        usage: Cluster.Silo [--membership localhost[:PRIMARY_PORT]|postgres:CONNSTR] [--kubernetes]
                            [--cluster-id ID] [--service-id ID] [--name NAME] [--devices cpu[,cuda:0,...]|cuda:all]
                            [--port N] [--gateway-port N] [--http-port N] [--bulk-port N]
                            [--advertised-host IP] [--insecure-listen-any] [--cluster-secret S]
                            [--tls-cert FILE --tls-key FILE --tls-ca FILE]
                            [--probe-timeout SECONDS] [--missed-probes N] [--table-refresh SECONDS] [--i-am-alive-publish SECONDS]
                            [--api-keys KEY[,KEY...]] [--max-request-bytes N]
        Settings also come from appsettings.json ("Silo" section) and the environment (CLUSTER_MEMBERSHIP, CLUSTER_DEVICES, ...;
        POD_NAME, POD_IP). Without TLS the silo listens on loopback only, unless --insecure-listen-any is given.
        """;

    /// <summary>Switches with a value, and the configuration key each sets.</summary>
    static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["--cluster-id"] = "ClusterId",
        ["--service-id"] = "ServiceId",
        ["--name"] = "Name",
        ["--membership"] = "Membership",
        ["--devices"] = "Devices",
        ["--port"] = "Port",
        ["--gateway-port"] = "GatewayPort",
        ["--http-port"] = "HttpPort",
        ["--bulk-port"] = "BulkPort",
        ["--advertised-host"] = "AdvertisedHost",
        ["--cluster-secret"] = "ClusterSecret",
        ["--tls-cert"] = "TlsCertificate",
        ["--tls-key"] = "TlsKey",
        ["--tls-ca"] = "TlsAuthority",
        ["--probe-timeout"] = "ProbeTimeoutSeconds",
        ["--missed-probes"] = "NumMissedProbesLimit",
        ["--table-refresh"] = "TableRefreshSeconds",
        ["--i-am-alive-publish"] = "IAmAlivePublishSeconds",
        ["--job-watch-period"] = "JobWatchSeconds",
        ["--api-keys"] = "ApiKeys",
        ["--max-request-bytes"] = "MaxRequestBytes",
    };

    /// <summary>Switches without a value.</summary>
    static readonly Dictionary<string, string> Flags = new(StringComparer.Ordinal)
    {
        ["--kubernetes"] = "Kubernetes",
        ["--insecure-listen-any"] = "InsecureListenAny",
    };

    static readonly Dictionary<string, string> EnvironmentNames = new(StringComparer.Ordinal)
    {
        ["CLUSTER_ID"] = "ClusterId",
        ["CLUSTER_SERVICE_ID"] = "ServiceId",
        ["CLUSTER_MEMBERSHIP"] = "Membership",
        ["CLUSTER_KUBERNETES"] = "Kubernetes",
        ["CLUSTER_DEVICES"] = "Devices",
        ["CLUSTER_PORT"] = "Port",
        ["CLUSTER_GATEWAY_PORT"] = "GatewayPort",
        ["CLUSTER_HTTP_PORT"] = "HttpPort",
        ["CLUSTER_BULK_PORT"] = "BulkPort",
        ["CLUSTER_SECRET"] = "ClusterSecret",
        ["CLUSTER_TLS_CERT"] = "TlsCertificate",
        ["CLUSTER_TLS_KEY"] = "TlsKey",
        ["CLUSTER_TLS_CA"] = "TlsAuthority",
        ["CLUSTER_INSECURE_LISTEN_ANY"] = "InsecureListenAny",
        ["CLUSTER_API_KEYS"] = "ApiKeys",
        ["CLUSTER_MAX_REQUEST_BYTES"] = "MaxRequestBytes",
        ["POD_NAME"] = "Name",
        ["POD_IP"] = "AdvertisedHost",
    };

    /// <summary>The environment variables a silo reads (deploy/k8s is checked against these).</summary>
    public static IReadOnlyCollection<string> EnvironmentVariables => EnvironmentNames.Keys;

    /// <summary>Reads and validates the settings; throws ArgumentException naming the bad one.</summary>
    public static SiloSettings Load(string[] args, IReadOnlyDictionary<string, string?> environment, string? settingsDirectory = null)
    {
        var fromCommandLine = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (Flags.TryGetValue(args[i], out var flag)) { fromCommandLine[$"Silo:{flag}"] = "true"; continue; }
            if (!Switches.TryGetValue(args[i], out var key))
                throw new ArgumentException($"unknown option '{args[i]}'");
            if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                throw new ArgumentException($"option '{args[i]}' needs a value");
            fromCommandLine[$"Silo:{key}"] = args[++i];
        }
        var fromEnvironment = EnvironmentNames
            .Where(e => !string.IsNullOrEmpty(environment.GetValueOrDefault(e.Key)))
            .ToDictionary(e => $"Silo:{e.Value}", e => environment[e.Key]);
        var config = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(settingsDirectory ?? AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddInMemoryCollection(fromEnvironment)
            .AddInMemoryCollection(fromCommandLine)
            .Build()
            .GetSection("Silo");

        var defaults = new SiloSettings();
        var detection = defaults.FailureDetection;
        var settings = new SiloSettings
        {
            ClusterId = config["ClusterId"] ?? defaults.ClusterId,
            ServiceId = config["ServiceId"] ?? defaults.ServiceId,
            Name = config["Name"],
            Membership = config["Membership"] is { } membership ? MembershipSetting.Parse(membership) : defaults.Membership,
            Kubernetes = Flag(config, "Kubernetes"),
            Devices = config["Devices"] is { } devices ? DeviceName.ParseList(devices) : defaults.Devices,
            SiloPort = Port(config, "Port", defaults.SiloPort),
            GatewayPort = Port(config, "GatewayPort", defaults.GatewayPort),
            HttpPort = Port(config, "HttpPort", defaults.HttpPort),
            BulkPort = Port(config, "BulkPort", defaults.BulkPort),
            AdvertisedAddress = config["AdvertisedHost"] is { } host
                ? IPAddress.TryParse(host, out var address) ? address : throw new ArgumentException($"advertised host '{host}' is not an IP address")
                : null,
            InsecureListenAny = Flag(config, "InsecureListenAny"),
            ClusterSecret = config["ClusterSecret"],
            TlsCertificate = config["TlsCertificate"],
            TlsKey = config["TlsKey"],
            TlsAuthority = config["TlsAuthority"],
            JobWatchPeriod = Seconds(config, "JobWatchSeconds", defaults.JobWatchPeriod),
            ApiKeys = config["ApiKeys"] is { } keys ? keys.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : [],
            MaxRequestBytes = config["MaxRequestBytes"] is { } bytes
                ? int.TryParse(bytes, NumberStyles.None, CultureInfo.InvariantCulture, out var b) && b >= 1024 ? b
                    : throw new ArgumentException($"MaxRequestBytes '{bytes}' is not a size in bytes (1024 or more)")
                : defaults.MaxRequestBytes,
            FailureDetection = new FailureDetectionSettings
            {
                ProbeTimeout = Seconds(config, "ProbeTimeoutSeconds", detection.ProbeTimeout),
                NumMissedProbesLimit = Count(config, "NumMissedProbesLimit", detection.NumMissedProbesLimit),
                TableRefreshTimeout = Seconds(config, "TableRefreshSeconds", detection.TableRefreshTimeout),
                IAmAliveTablePublishTimeout = Seconds(config, "IAmAlivePublishSeconds", detection.IAmAliveTablePublishTimeout),
            },
        };
        settings.Validate();
        return settings;
    }

    static bool Flag(IConfiguration config, string key) => config[key] switch
    {
        null => false,
        var text when bool.TryParse(text, out var value) => value,
        "1" => true,
        "0" => false,
        var text => throw new ArgumentException($"{key} '{text}' is not true or false"),
    };

    static int Port(IConfiguration config, string key, int fallback)
        => config[key] is { } text
            ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
                ? port
                : throw new ArgumentException($"{key} '{text}' is not a port number (1..65535)")
            : fallback;

    static int Count(IConfiguration config, string key, int fallback)
        => config[key] is { } text
            ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 100
                ? n
                : throw new ArgumentException($"{key} '{text}' is not a count (1..100)")
            : fallback;

    static TimeSpan Seconds(IConfiguration config, string key, TimeSpan fallback)
        => config[key] is { } text
            ? double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s is > 0 and <= 3600
                ? TimeSpan.FromSeconds(s)
                : throw new ArgumentException($"{key} '{text}' is not a number of seconds (0..3600]")
            : fallback;
}
