using System.Globalization;
using Cluster.Runtime;
using Microsoft.Extensions.Configuration;

namespace Cluster.Silo;

/// <summary>SiloOptions from, lowest precedence first: appsettings.json (section "Silo"), environment
/// variables (CLUSTER_ID, CLUSTER_MEMBERSHIP, CLUSTER_DEVICES, CLUSTER_PORT, CLUSTER_GATEWAY_PORT, CLUSTER_BULK_PORT,
/// CLUSTER_SECRET; Kubernetes' POD_NAME and POD_IP), then the command line.</summary>
public static class SiloConfiguration
{
    public const string Usage = """
        usage: Cluster.Silo [--cluster-id ID] [--membership memory|dev|dev:HOST:PORT|postgres:CONNSTR]
                            [--devices cpu[,cuda:0,...]] [--port N] [--gateway-port M] [--bulk-port B] [--cluster-secret S]
                            [--name NAME] [--advertised-host HOST] [--listen ADDRESS]
        Settings also come from appsettings.json ("Silo" section) and the environment (CLUSTER_*, POD_NAME, POD_IP).
        """;

    static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["--cluster-id"] = "Silo:ClusterId",
        ["--membership"] = "Silo:Membership",
        ["--devices"] = "Silo:Devices",
        ["--port"] = "Silo:Port",
        ["--gateway-port"] = "Silo:GatewayPort",
        ["--bulk-port"] = "Silo:BulkPort",
        ["--cluster-secret"] = "Silo:ClusterSecret",
        ["--name"] = "Silo:Name",
        ["--advertised-host"] = "Silo:AdvertisedHost",
        ["--listen"] = "Silo:ListenAddress",
    };

    static readonly Dictionary<string, string> Environment = new(StringComparer.Ordinal)
    {
        ["CLUSTER_ID"] = "Silo:ClusterId",
        ["CLUSTER_MEMBERSHIP"] = "Silo:Membership",
        ["CLUSTER_DEVICES"] = "Silo:Devices",
        ["CLUSTER_PORT"] = "Silo:Port",
        ["CLUSTER_GATEWAY_PORT"] = "Silo:GatewayPort",
        ["CLUSTER_BULK_PORT"] = "Silo:BulkPort",
        ["CLUSTER_SECRET"] = "Silo:ClusterSecret",
        ["POD_NAME"] = "Silo:Name",
        ["POD_IP"] = "Silo:AdvertisedHost",
    };

    /// <summary>Reads the settings; throws ArgumentException naming the bad one.</summary>
    public static SiloOptions Load(string[] args, IReadOnlyDictionary<string, string?> environment, string? settingsDirectory = null)
    {
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!Switches.ContainsKey(args[i]))
                throw new ArgumentException($"unknown option '{args[i]}'");
            if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                throw new ArgumentException($"option '{args[i]}' needs a value");
        }
        var fromEnvironment = Environment
            .Where(e => !string.IsNullOrEmpty(environment.GetValueOrDefault(e.Key)))
            .ToDictionary(e => e.Value, e => environment[e.Key]);
        // In a pod the advertised address is the pod's; listen on every interface so it is reachable there.
        if (fromEnvironment.ContainsKey("Silo:AdvertisedHost")) fromEnvironment["Silo:ListenAddress"] = "0.0.0.0";
        var config = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(settingsDirectory ?? AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddInMemoryCollection(fromEnvironment)
            .AddCommandLine(args, Switches)
            .Build()
            .GetSection("Silo");

        var options = new SiloOptions();
        options.ClusterId = config["ClusterId"] ?? options.ClusterId;
        options.Membership = config["Membership"] ?? options.Membership;
        options.Name = config["Name"] ?? options.Name;
        options.AdvertisedHost = config["AdvertisedHost"] ?? options.AdvertisedHost;
        options.ListenAddress = config["ListenAddress"] ?? options.ListenAddress;
        options.ClusterSecret = config["ClusterSecret"] ?? options.ClusterSecret;
        options.Port = Port(config, "Port", options.Port);
        options.GatewayPort = Port(config, "GatewayPort", options.GatewayPort);
        options.BulkPort = Port(config, "BulkPort", options.BulkPort);
        if (config["Devices"] is { } devices)
            options.Devices = devices.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (!System.Net.IPAddress.TryParse(options.ListenAddress, out _))
            throw new ArgumentException($"listen address '{options.ListenAddress}' is not an IP address");
        options.Validate();
        return options;
    }

    static int Port(IConfiguration config, string key, int fallback)
    {
        var text = config[key];
        if (text is null) return fallback;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535
            ? port
            : throw new ArgumentException($"{key} '{text}' is not a port number (0..65535)");
    }
}
