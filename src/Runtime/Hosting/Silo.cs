using System.Net;
using System.Net.Sockets;
using Cluster.Runtime.Activation;
using Cluster.Runtime.Diagnostics;
using Cluster.Runtime.Hosting;
using Cluster.Runtime.Membership;
using Cluster.Runtime.Messaging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cluster.Runtime;

/// <summary>What a silo is started with.</summary>
public sealed class SiloSetup
{
    public SiloOptions Options { get; init; } = new();
    public GrainRegistry Grains { get; init; } = new();
    /// <summary>Services the grain classes' constructors ask for.</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }
    /// <summary>For "memory" membership: a table shared by several silos in one process (else each has its own).</summary>
    public IClusterMembership? SharedMembership { get; init; }
}

/// <summary>A silo: hosts grain activations, routes calls, and keeps its place in the cluster. Kestrel
/// serves an internal HTTP/2 port (silo-to-silo, cluster secret required) and a public gateway port
/// (clients, /health, /ready, /metrics).</summary>
public sealed class Silo : IAsyncDisposable
{
    static long _lastGeneration;

    readonly WebApplication _app;
    readonly MembershipAgent _agent;
    readonly IClusterMembership _table;
    volatile bool _ready;
    int _stopped;

    Silo(SiloSetup setup, WebApplication app, IClusterMembership table, InMemoryMembership? developmentTable, SiloConnections connections, BulkReceiver bulk)
    {
        Bulk = bulk;
        Options = setup.Options;
        Registry = setup.Grains;
        _app = app;
        _table = table;
        DevelopmentTable = developmentTable;
        Connections = connections;
        Log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Cluster.Silo");
        _agent = new MembershipAgent(table, Options, Log);
        Catalog = new Catalog(Options, Registry, table, app.Services, Metrics, Log);
        Runtime = new SiloRuntime(Options, Registry, Catalog, table, _agent, connections);
        GrainFactory = new GrainFactory(Runtime);
        Catalog.Factory = GrainFactory;
        _agent.SilosLost += Runtime.OnSilosLost;
        connections.BulkPortOf = target => View.Silos.FirstOrDefault(s => s.Address == target)?.BulkPort ?? 0;
        _agent.Fenced += OnFenced;
    }

    public SiloOptions Options { get; }
    public SiloAddress Address { get; private set; } = null!;
    public int InternalPort { get; private set; }
    public int GatewayPort { get; private set; }
    public Uri GatewayUri => new($"http://{Options.AdvertisedHost}:{GatewayPort}/");
    /// <summary>Grain references whose calls start at this silo.</summary>
    public IGrainFactory GrainFactory { get; }
    public ClusterView View => _agent.View;
    /// <summary>Joined and serving (false before the join, after a stop, or once fenced).</summary>
    public bool IsReady => _ready;
    public int ActivationCount => Catalog.Count;

    internal ILogger Log { get; }
    internal GrainRegistry Registry { get; }
    internal Catalog Catalog { get; }
    internal SiloRuntime Runtime { get; }
    internal SiloMetrics Metrics { get; } = new();
    internal InMemoryMembership? DevelopmentTable { get; }
    internal BulkReceiver Bulk { get; }
    internal SiloConnections Connections { get; }
    public int BulkPort => Bulk.Port;

    public static async Task<Silo> StartAsync(SiloSetup setup, CancellationToken cancellation = default)
    {
        var options = setup.Options;
        options.Validate();
        if (setup.SharedMembership is not null && string.IsNullOrEmpty(options.ClusterSecret))
            throw new ArgumentException("silos sharing an in-memory membership call each other, so they need one cluster secret");
        var secret = options.ClusterSecret ?? Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        options.ClusterSecret = secret;
        // The bulk port is bound first: if it is taken, nothing else has been opened yet.
        BulkReceiver bulk;
        try { bulk = new BulkReceiver(IPAddress.Parse(options.ListenAddress), options.BulkPort, secret, options.MaxMessageBytes, options.CallTimeout * 2); }
        catch (SocketException e) { throw new ArgumentException($"bulk port {options.BulkPort} on {options.ListenAddress} cannot be bound: {e.Message}", e); }
        var connections = new SiloConnections(secret, options.MaxMessageBytes, options.BulkThresholdBytes);
        IClusterMembership table;
        InMemoryMembership? developmentTable;
        try { (table, developmentTable) = await OpenMembershipAsync(setup, connections, cancellation).ConfigureAwait(false); }
        catch
        {
            connections.Dispose();
            await bulk.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (setup.ConfigureLogging is null)
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning)
                // The gateway port serves HTTP/1.1 on purpose (see ClusterHttp); Kestrel warns that h2c is off there.
                .AddFilter("Microsoft.AspNetCore.Server.Kestrel", LogLevel.Error);
        else setup.ConfigureLogging(builder.Logging);
        setup.ConfigureServices?.Invoke(builder.Services);
        ListenOptions? internalListen = null, gatewayListen = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxMessageBytes;
            kestrel.Limits.MinRequestBodyDataRate = null; // big payloads on a busy machine are slow, not dead
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
            kestrel.Limits.Http2.InitialConnectionWindowSize = 32 << 20;
            kestrel.Limits.Http2.InitialStreamWindowSize = 16 << 20;
            kestrel.Limits.Http2.MaxFrameSize = 1 << 20;
            var ip = IPAddress.Parse(options.ListenAddress);
            kestrel.Listen(ip, options.Port, o => { o.Protocols = HttpProtocols.Http2; internalListen = o; });
            kestrel.Listen(ip, options.GatewayPort, o => { o.Protocols = HttpProtocols.Http1AndHttp2; gatewayListen = o; });
        });
        var app = builder.Build();
        var silo = new Silo(setup, app, table, developmentTable, connections, bulk);
        var handler = new SiloHttpHandler(silo);
        app.Run(handler.HandleAsync);
        try
        {
            await app.StartAsync(cancellation).ConfigureAwait(false);
            bulk.Start(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Cluster.Bulk"));
            silo.InternalPort = internalListen!.IPEndPoint!.Port;
            silo.GatewayPort = gatewayListen!.IPEndPoint!.Port;
            silo.Address = new SiloAddress(options.AdvertisedHost, silo.InternalPort, NextGeneration());
            connections.ReplyBulk = ($"{options.AdvertisedHost}:{bulk.Port}", bulk);
            silo.Catalog.Silo = silo.Address;
            silo.Runtime.Self = silo.Address;
            var self = new SiloEntry(silo.Address, options.Name, silo.GatewayUri.ToString(), options.Devices, SiloStatus.Active, DateTimeOffset.UtcNow, bulk.Port);
            await silo._agent.JoinAsync(self, cancellation).ConfigureAwait(false);
            silo._ready = true;
            return silo;
        }
        catch
        {
            await silo.DisposeCoreAsync(graceful: false).ConfigureAwait(false);
            throw;
        }
    }

    static long NextGeneration()
    {
        while (true)
        {
            var last = Interlocked.Read(ref _lastGeneration);
            var next = Math.Max(last + 1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            if (Interlocked.CompareExchange(ref _lastGeneration, next, last) == last) return next;
        }
    }

    static async Task<(IClusterMembership Table, InMemoryMembership? Development)> OpenMembershipAsync(
        SiloSetup setup, SiloConnections connections, CancellationToken cancellation)
    {
        var options = setup.Options;
        var parts = options.Membership.Split(':', 2);
        switch (parts[0])
        {
            case "memory":
                return (setup.SharedMembership ?? new InMemoryMembership(), null);
            case "dev" when parts.Length == 1 || parts[1] == $"{options.AdvertisedHost}:{options.Port}":
                var primary = new InMemoryMembership();
                return (primary, primary);
            case "dev":
                if (!Uri.TryCreate($"http://{parts[1]}/", UriKind.Absolute, out var uri) || uri.Port <= 0)
                    throw new ArgumentException($"membership '{options.Membership}': expected dev:HOST:PORT with silo 0's internal endpoint");
                return (new DevelopmentMembershipClient(uri, connections), null);
            case "postgres" when parts.Length == 2:
                return (await PostgresMembership.OpenAsync(parts[1], options.ClusterId, cancellation).ConfigureAwait(false), null);
            default:
                throw new ArgumentException($"unknown membership '{options.Membership}' (expected memory, dev, dev:HOST:PORT or postgres:CONNECTION-STRING)");
        }
    }

    /// <summary>Declared dead by the others while still running; it serves nothing and /health says so.</summary>
    public bool IsFenced { get; private set; }

    void OnFenced()
    {
        IsFenced = true;
        _ready = false;
        Catalog.Abandon();
    }

    /// <summary>Graceful: deactivates every grain (queued calls finish, OnDeactivateAsync runs), leaves the
    /// membership, and closes the ports.</summary>
    public Task StopAsync() => DisposeCoreAsync(graceful: true);

    /// <summary>As if the process died: no deactivation, no leave; connections are cut and heartbeats stop,
    /// so the others declare this silo dead after the death timeout.</summary>
    public Task KillAsync() => DisposeCoreAsync(graceful: false);

    async Task DisposeCoreAsync(bool graceful)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        _ready = false;
        if (graceful)
        {
            await Catalog.DeactivateAllAsync().ConfigureAwait(false);
            try { await _agent.StopAsync(leave: Address is not null).ConfigureAwait(false); }
            catch (Exception e) { Log.LogWarning("could not leave the membership: {Message}", e.Message); }
            await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        else
        {
            await _agent.StopAsync(leave: false).ConfigureAwait(false);
            Catalog.Abandon();
            using var now = new CancellationTokenSource();
            now.Cancel();
            try { await _app.StopAsync(now.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
        Connections.Dispose();
        await Bulk.DisposeAsync().ConfigureAwait(false);
        await Catalog.DisposeAsync().ConfigureAwait(false);
        await _agent.DisposeAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        if (_table is IAsyncDisposable disposable && _table != DevelopmentTable) await disposable.DisposeAsync().ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
