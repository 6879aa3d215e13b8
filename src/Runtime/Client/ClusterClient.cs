using System.Net.Sockets;
using Cluster.Runtime.Messaging;

namespace Cluster.Runtime.Client;

public sealed class ClusterClientOptions
{
    /// <summary>Gateway URIs of any silos (http://host:gatewayPort/); calls spread over them, and a gateway
    /// that refuses connections is skipped.</summary>
    public IReadOnlyList<Uri> Gateways { get; set; } = [];
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);
    public long MaxMessageBytes { get; set; } = 1L << 30;
    /// <summary>HTTP/1.1 connections per gateway; calls beyond this wait for a free connection.</summary>
    public int MaxConnectionsPerGateway { get; set; } = 32;
}

/// <summary>Calls grains from outside the cluster through silos' gateway ports. The gateway silo routes
/// each call as if one of its own grains had made it.</summary>
public sealed class ClusterClient : IGrainFactory, IGrainCallInvoker, IDisposable
{
    readonly ClusterClientOptions _options;
    readonly HttpClient _http;
    readonly GrainFactory _factory;
    int _next;

    ClusterClient(ClusterClientOptions options)
    {
        _options = options;
        _http = ClusterHttp.CreateGatewayClient(TimeSpan.FromSeconds(5), options.MaxConnectionsPerGateway);
        _factory = new GrainFactory(this);
    }

    /// <summary>Connects once at least one gateway answers /ready.</summary>
    public static async Task<ClusterClient> ConnectAsync(ClusterClientOptions options, CancellationToken cancellation = default)
    {
        if (options.Gateways.Count == 0) throw new ArgumentException("a cluster client needs at least one gateway URI");
        var client = new ClusterClient(options);
        var failures = new List<string>();
        foreach (var gateway in options.Gateways)
        {
            try
            {
                using var response = await client._http.GetAsync(new Uri(gateway, "ready"), cancellation).ConfigureAwait(false);
                if (response.IsSuccessStatusCode) return client;
                failures.Add($"{gateway}: {(int)response.StatusCode}");
            }
            catch (HttpRequestException e) { failures.Add($"{gateway}: {e.Message}"); }
        }
        client.Dispose();
        throw new SiloUnavailableException($"no gateway is ready ({string.Join("; ", failures)})");
    }

    public TGrain GetGrain<TGrain>(string key) where TGrain : IGrainWithStringKey => _factory.GetGrain<TGrain>(key);
    public TGrain GetGrain<TGrain>(long key) where TGrain : IGrainWithIntegerKey => _factory.GetGrain<TGrain>(key);

    public Task<object?> InvokeAsync(GrainId grain, GrainMethod method, object?[] args, CancellationToken cancellation)
    {
        var message = OutgoingMessage.Call(grain, method, args);
        return CallDeadline.RunAsync(grain, method, _options.CallTimeout, cancellation, token => SendAsync(grain, method, message, token));
    }

    async Task<object?> SendAsync(GrainId grain, GrainMethod method, OutgoingMessage message, CancellationToken cancellation)
    {
        var gateways = _options.Gateways;
        var first = (int)((uint)Interlocked.Increment(ref _next) % (uint)gateways.Count);
        Exception? refused = null;
        for (var i = 0; i < gateways.Count; i++)
        {
            var gateway = gateways[(first + i) % gateways.Count];
            using var request = ClusterHttp.Post(_http, new Uri(gateway, "gateway/invoke"), message.ToContent());
            try
            {
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation).ConfigureAwait(false);
                return await ClusterHttp.ReadResultAsync(response, method, _options.MaxMessageBytes, cancellation).ConfigureAwait(false);
            }
            catch (HttpRequestException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
            {
                refused = e; // never reached that gateway, so trying another cannot run the call twice
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                throw new SiloUnavailableException($"gateway {gateway} failed during {grain}.{method.Name}: {e.Message}", e);
            }
        }
        throw new SiloUnavailableException($"no gateway accepted {grain}.{method.Name}: {refused?.Message}", refused);
    }

    public void Dispose() => _http.Dispose();
}
