using System.Globalization;
using System.Net;
using Cluster.DataPlane;
using Cluster.Grains;
using Cluster.Grains.Hosting;
using Cluster.Silo.Dashboard;
using Cluster.Silo.Postgres;
using Cluster.Silo.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Connections.Security;
using Orleans.Hosting;
using OpenTelemetry.Metrics;

namespace Cluster.Silo;

/// <summary>Builds one silo process: an Orleans silo and Kestrel (health, readiness, metrics) in one generic host.</summary>
public static class SiloHost
{
    /// <summary>Checks what can be checked up front (ports, files, devices, the database), then builds the host.
    /// Throws <see cref="SiloStartException"/> with a one-line reason.</summary>
    /// <param name="embedded">a silo inside another program (the CLI's in-process cluster): errors only in the log</param>
    public static async Task<WebApplication> BuildAsync(SiloSettings settings, IReadOnlyDictionary<string, string?> environment, CancellationToken cancellation,
        bool embedded = false)
    {
        var listen = settings.ListensOnAnyAddress ? IPAddress.Any : IPAddress.Loopback;
        var advertised = settings.AdvertisedAddress ?? (settings.ListensOnAnyAddress ? LocalAddress() : IPAddress.Loopback);
        var name = settings.Name ?? $"{Environment.MachineName}-{settings.SiloPort.ToString(CultureInfo.InvariantCulture)}";

        if (settings.Kubernetes) StartChecks.KubernetesEnvironment(environment);
        settings = settings with { Devices = StartChecks.DevicesExist(settings.Devices) };
        var certificates = LoadCertificates(settings);
        StartChecks.PortsAreFree(listen, ("silo", settings.SiloPort), ("gateway", settings.GatewayPort), ("http", settings.HttpPort));
        var bulkSecurity = certificates is null ? BulkChannelSecurity.SharedSecret(settings.EffectiveClusterSecret) : BulkChannelSecurity.Tls(certificates);
        BulkReceiver bulk;
        try { bulk = new BulkReceiver(new IPEndPoint(listen, settings.BulkPort), bulkSecurity); }
        catch (BulkChannelException e) { throw new SiloStartException(e.Message, e); }

        try
        {
            if (settings.Membership.Kind == MembershipKind.Postgres)
                await PostgresDatabase.EnsureSchemaAsync(settings.Membership.ConnectionString!, cancellation);
        }
        catch (PostgresSetupException e)
        {
            await bulk.DisposeAsync();
            throw new SiloStartException(e.Message, e);
        }

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        if (embedded) builder.Logging.AddFilter<Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider>((_, level) => level >= LogLevel.Error); // the host program reports
        else if (!builder.Configuration.GetSection("Logging").Exists()) // hosted without our appsettings.json (the bench): its levels
            foreach (var noisy in new[] { "Orleans", "Microsoft", "Polly" }) builder.Logging.AddFilter(noisy, LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        // Inside another program, Ctrl-C and SIGTERM are the program's: a console lifetime per silo would swallow them.
        if (embedded) builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        builder.WebHost.ConfigureKestrel(k => k.Listen(listen, settings.HttpPort));

        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o => { o.ClusterId = settings.ClusterId; o.ServiceId = settings.ServiceId; });
            silo.Configure<SiloOptions>(o => o.SiloName = name);
            silo.Configure<EndpointOptions>(o =>
            {
                o.AdvertisedIPAddress = advertised;
                o.SiloPort = settings.SiloPort;
                o.GatewayPort = settings.GatewayPort;
                o.SiloListeningEndpoint = new IPEndPoint(listen, settings.SiloPort);
                o.GatewayListeningEndpoint = new IPEndPoint(listen, settings.GatewayPort);
            });
            switch (settings.Membership.Kind)
            {
                case MembershipKind.Localhost:
                    silo.UseDevelopmentClustering(new IPEndPoint(IPAddress.Loopback, settings.Membership.PrimarySiloPort ?? settings.SiloPort));
                    silo.AddMemoryGrainStorage(ClusterSiloBuilderExtensions.StorageName);
                    silo.UseInMemoryReminderService();
                    break;
                case MembershipKind.Postgres:
                    silo.UseAdoNetClustering(o => { o.Invariant = "Npgsql"; o.ConnectionString = settings.Membership.ConnectionString; });
                    silo.AddAdoNetGrainStorage(ClusterSiloBuilderExtensions.StorageName, o => { o.Invariant = "Npgsql"; o.ConnectionString = settings.Membership.ConnectionString; });
                    silo.UseAdoNetReminderService(o => { o.Invariant = "Npgsql"; o.ConnectionString = settings.Membership.ConnectionString; });
                    if (settings.Kubernetes) silo.UseKubernetesHosting();
                    break;
            }
            if (certificates is not null)
                silo.UseTls(certificates.Certificate, o => ConfigureMutualTls(o, certificates));
            silo.UseFailureDetection(settings.FailureDetection);
            silo.AddClusterGrains(new ClusterSiloSettings
            {
                Devices = settings.Devices,
                BulkReceiver = bulk,
                BulkSecurity = bulkSecurity,
                BulkAdvertisedAddress = advertised,
                HttpPort = settings.HttpPort,
                JobWatchPeriod = settings.JobWatchPeriod,
            });
        });

        builder.Services.AddSingleton(settings);
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter("Microsoft.Orleans", SiloMetrics.MeterName, Cluster.Serving.ServingMetrics.MeterName, Serving.ServingHttpMetrics.Name,
                "Microsoft.AspNetCore.Hosting", "System.Runtime")
            .AddPrometheusExporter());
        builder.Services.AddSingleton<SiloMetrics>();
        builder.Services.AddOpenApi();

        var app = builder.Build();
        app.MapHealthEndpoints();
        app.MapServingEndpoints();
        app.MapDashboard();
        app.MapOpenApi("/openapi.json");
        app.MapPrometheusScrapingEndpoint(HealthEndpoints.MetricsPath);
        app.Services.GetRequiredService<SiloMetrics>(); // its instruments exist once it does
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Cluster.Silo");
        if (embedded) { }
        else if (!settings.ListensOnAnyAddress)
            log.LogWarning("no TLS certificate configured: listening on loopback only (--tls-cert/--tls-key/--tls-ca for TLS, or --insecure-listen-any to listen on every interface without it)");
        else if (!settings.UsesTls)
            log.LogWarning("--insecure-listen-any: listening on every interface WITHOUT TLS; anyone who reaches these ports can join the cluster or call its grains");
        return app;
    }

    /// <summary>Mutual TLS: both sides present a certificate, and each accepts only one the cluster CA issued.</summary>
    public static void ConfigureMutualTls(TlsOptions options, ClusterCertificates certificates)
    {
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateValidation = certificates.ValidatePeer;
    }

    static ClusterCertificates? LoadCertificates(SiloSettings settings)
    {
        if (!settings.UsesTls) return null;
        try { return ClusterCertificates.Load(settings.TlsCertificate!, settings.TlsKey!, settings.TlsAuthority!); }
        catch (ClusterCertificateException e) { throw new SiloStartException(e.Message, e); }
    }

    /// <summary>The address to advertise when listening on every interface and none was given: the first
    /// non-loopback IPv4 address of this host.</summary>
    static IPAddress LocalAddress()
        => System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            ?? throw new SiloStartException("no non-loopback IPv4 address to advertise: give --advertised-host");
}

/// <summary>The lifetime of a silo hosted inside another program: it starts and stops when that program says.</summary>
internal sealed class EmbeddedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
