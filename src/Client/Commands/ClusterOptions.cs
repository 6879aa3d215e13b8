using System.CommandLine;
using Cluster.Client.Connection;

namespace Cluster.Client.Commands;

/// <summary>The options every verb that talks to a running cluster takes.</summary>
/// <param name="inProcessWithout">a verb that runs an in-process cluster when --cluster is not given (pretrain,
/// finetune): --cluster has no default, and <see cref="ReadOptional"/> is null without it</param>
internal sealed class ClusterOptions(bool inProcessWithout = false)
{
    readonly Option<string?> _cluster = new("--cluster")
    {
        Description = "the cluster: localhost, postgres:CONNSTR or HOST:GATEWAYPORT[,HOST:GATEWAYPORT...]" +
                      (inProcessWithout ? "; without it, an in-process one" : ""),
        DefaultValueFactory = _ => inProcessWithout ? null : "localhost",
    };
    readonly Option<string> _clusterId = new("--cluster-id") { Description = "the cluster's id", DefaultValueFactory = _ => "cluster" };
    readonly Option<string> _serviceId = new("--service-id") { Description = "the cluster's service id", DefaultValueFactory = _ => "cluster" };
    readonly Option<string?> _tlsCert = new("--tls-cert") { Description = "this client's certificate (PEM), for a cluster with TLS" };
    readonly Option<string?> _tlsKey = new("--tls-key") { Description = "its private key (PEM)" };
    readonly Option<string?> _tlsCa = new("--tls-ca") { Description = "the cluster's CA certificate (PEM)" };
    readonly Option<double> _connectTimeout = new("--connect-timeout") { Description = "seconds to wait for a gateway", DefaultValueFactory = _ => 10 };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _cluster, _clusterId, _serviceId, _tlsCert, _tlsKey, _tlsCa, _connectTimeout }) command.Options.Add(option);
    }

    public ClusterConnectionSettings Read(ParseResult parsed) =>
        ReadOptional(parsed) ?? throw new ArgumentException("--cluster is required");

    /// <summary>The connection settings, or null when --cluster was not given to a verb that then runs in-process.</summary>
    public ClusterConnectionSettings? ReadOptional(ParseResult parsed)
    {
        if (parsed.GetValue(_cluster) is null) return null;
        var timeout = parsed.GetValue(_connectTimeout);
        if (timeout is <= 0 or > 3600 || double.IsNaN(timeout)) throw new ArgumentException($"--connect-timeout must be in (0, 3600] seconds, got {timeout}");
        return new(parsed.GetValue(_cluster)!, parsed.GetValue(_clusterId)!, parsed.GetValue(_serviceId)!,
            parsed.GetValue(_tlsCert), parsed.GetValue(_tlsKey), parsed.GetValue(_tlsCa))
        {
            ConnectTimeout = TimeSpan.FromSeconds(timeout),
        };
    }
}
