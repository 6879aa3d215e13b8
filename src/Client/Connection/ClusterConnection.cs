using System.Globalization;
using System.Net;
using Cluster.DataPlane;
using Cluster.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Connections.Security;
using Orleans.Hosting;
using Orleans.Runtime.Messaging;

namespace Cluster.Client.Connection;

/// <summary>The cluster could not be reached, or refused this client.</summary>
public sealed class ClusterConnectException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Where a running cluster is and how to prove this client belongs to it.</summary>
/// <param name="Cluster"><c>localhost</c> (a silo's gateway on 127.0.0.1:30000), <c>postgres:CONNSTR</c> (gateways
/// from the membership table) or <c>HOST:GATEWAYPORT[,HOST:GATEWAYPORT...]</c>.</param>
public sealed record ClusterConnectionSettings(
    string Cluster,
    string ClusterId = "cluster",
    string ServiceId = "cluster",
    string? TlsCertificate = null,
    string? TlsKey = null,
    string? TlsAuthority = null)
{
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>An Orleans client connected to a running cluster; dispose to disconnect.</summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    readonly IHost _host;
    ClusterConnection(IHost host) => _host = host;

    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    public static async Task<ClusterConnection> ConnectAsync(ClusterConnectionSettings settings, CancellationToken cancellation = default)
    {
        var certificates = settings.TlsCertificate is null && settings.TlsKey is null && settings.TlsAuthority is null ? null
            : settings.TlsCertificate is null || settings.TlsKey is null || settings.TlsAuthority is null
                ? throw new ArgumentException("TLS needs all three of --tls-cert, --tls-key and --tls-ca")
                : LoadCertificates(settings);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Critical); // failures reach the caller as one exception
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o => { o.ClusterId = settings.ClusterId; o.ServiceId = settings.ServiceId; });
            ConfigureClustering(client, settings.Cluster);
            client.Services.Configure<Orleans.Serialization.ExceptionSerializationOptions>(Cluster.Grains.ClusterExceptionSerialization.Configure);
            // Orleans' default retries for about three minutes; a person at a prompt waits at most ConnectTimeout.
            var deadline = DateTime.UtcNow + settings.ConnectTimeout;
            client.UseConnectionRetryFilter(async (e, ct) =>
            {
                if (DateTime.UtcNow + TimeSpan.FromSeconds(1) > deadline || e is not (ConnectionFailedException or OrleansMessageRejectionException)) return false;
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
                return true;
            });
            if (certificates is not null)
                client.UseTls(certificates.Certificate, o =>
                {
                    o.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
                    o.RemoteCertificateValidation = certificates.ValidatePeer;
                });
        });
        var host = builder.Build();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(settings.ConnectTimeout);
        try
        {
            await host.StartAsync(timeout.Token);
            return new ClusterConnection(host);
        }
        catch (Exception e) when (e is OrleansException or OperationCanceledException or TimeoutException or System.Net.Sockets.SocketException or IOException)
        {
            host.Dispose();
            var reason = e is OperationCanceledException or ConnectionFailedException
                ? $"no gateway answered within {settings.ConnectTimeout.TotalSeconds:0} s ({e.FirstLine()})"
                : e.FirstLine();
            throw new ClusterConnectException($"cannot connect to cluster '{Describe(settings.Cluster)}': {reason}", e);
        }
    }

    static void ConfigureClustering(IClientBuilder client, string cluster)
    {
        if (cluster == "localhost")
        {
            client.UseStaticClustering(new IPEndPoint(IPAddress.Loopback, 30000));
            return;
        }
        if (cluster.StartsWith("postgres:", StringComparison.Ordinal))
        {
            var connection = cluster[9..];
            if (connection.Length == 0) throw new ArgumentException("--cluster postgres: needs a connection string after the colon");
            client.UseAdoNetClustering(o => { o.Invariant = "Npgsql"; o.ConnectionString = connection; });
            return;
        }
        client.UseStaticClustering(cluster.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(Gateway).ToArray());
    }

    static IPEndPoint Gateway(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw new ArgumentException($"--cluster: '{text}' is not localhost, postgres:CONNSTR or HOST:GATEWAYPORT");
        var host = text[..colon];
        if (IPAddress.TryParse(host, out var address)) return new IPEndPoint(address, port);
        try { return new IPEndPoint(Dns.GetHostAddresses(host).First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork), port); }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or InvalidOperationException)
        {
            throw new ClusterConnectException($"--cluster: host '{host}' cannot be resolved", e);
        }
    }

    static ClusterCertificates LoadCertificates(ClusterConnectionSettings settings)
    {
        try { return ClusterCertificates.Load(settings.TlsCertificate!, settings.TlsKey!, settings.TlsAuthority!); }
        catch (ClusterCertificateException e) { throw new ClusterConnectException(e.Message, e); }
    }

    static string Describe(string cluster) => cluster.StartsWith("postgres:", StringComparison.Ordinal) ? "postgres:…" : cluster;

    public async ValueTask DisposeAsync()
    {
        try { await _host.StopAsync(TimeSpan.FromSeconds(10)); }
        catch (Exception e) when (e is OrleansException or OperationCanceledException) { } // a cluster that went away is no reason to fail now
        _host.Dispose();
    }
}
