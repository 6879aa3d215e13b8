using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Runtime.Activation;

namespace Cluster.Runtime.Messaging;

/// <summary>HTTP plumbing shared by silos and clients: the pooled HTTP/2 cleartext handler, error bodies,
/// and turning a call's response back into a result or the grain's exception.</summary>
public static class ClusterHttp
{
    /// <summary>Silo-to-silo: HTTP/2 cleartext with prior knowledge. Windows are large so a 64 MB payload is
    /// not throttled by flow control; several connections per peer so thousands of concurrent calls do not
    /// queue behind one connection's stream limit.</summary>
    public static HttpClient CreateClient(TimeSpan connectTimeout) => Create(connectTimeout, HttpVersion.Version20, HttpVersionPolicy.RequestVersionExact);

    /// <summary>Client-to-gateway: HTTP/1.1, because Kestrel serves cleartext HTTP/2 only on ports that
    /// speak nothing else, and the gateway port also answers Kubernetes' HTTP/1.1 probes. Connections are
    /// capped so a burst of calls queues in the pool instead of opening thousands of sockets.</summary>
    public static HttpClient CreateGatewayClient(TimeSpan connectTimeout, int maxConnectionsPerGateway) =>
        Create(connectTimeout, HttpVersion.Version11, HttpVersionPolicy.RequestVersionOrLower, maxConnectionsPerGateway);

    static HttpClient Create(TimeSpan connectTimeout, Version version, HttpVersionPolicy policy, int maxConnections = int.MaxValue)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            InitialHttp2StreamWindowSize = 16 << 20,
            MaxConnectionsPerServer = maxConnections,
            ConnectTimeout = connectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            KeepAlivePingDelay = TimeSpan.FromSeconds(15),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(15),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        return new HttpClient(handler)
        {
            DefaultRequestVersion = version,
            DefaultVersionPolicy = policy,
            Timeout = Timeout.InfiniteTimeSpan, // each call carries its own deadline
        };
    }

    /// <summary>A POST with the client's default version (HttpClient.Send applies DefaultRequestVersion only to requests it creates).</summary>
    public static HttpRequestMessage Post(HttpClient client, Uri uri, HttpContent content) => new(HttpMethod.Post, uri)
    {
        Content = content,
        Version = client.DefaultRequestVersion,
        VersionPolicy = client.DefaultVersionPolicy,
    };

    public static byte[] ErrorBody(Exception e, GrainLocation? owner = null)
    {
        var body = new JsonObject
        {
            ["error"] = e.Message,
            ["error_type"] = e is GrainMovedException ? "GrainMoved" : e.GetType().FullName,
        };
        if (owner is not null) body["owner"] = JsonSerializer.SerializeToNode(owner, ClusterJson.Options);
        return JsonSerializer.SerializeToUtf8Bytes(body);
    }

    /// <summary>The result of a call, or the exception it ended with: the grain's own (recreated), a moved
    /// grain (409), or a transport-level refusal (401, 400, 404, 413, 503, 504).</summary>
    internal static async Task<object?> ReadResultAsync(HttpResponseMessage response, GrainMethod method, long maxBytes, CancellationToken cancellation,
        Func<Guid, CancellationToken, Task<byte[][]>>? bulk = null)
    {
        if (response.StatusCode == HttpStatusCode.OK)
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellation).ConfigureAwait(false);
            using var message = await IncomingMessage.ReadAsync(stream, response.Content.Headers.ContentLength, maxBytes, cancellation, bulk).ConfigureAwait(false);
            return message.ReadResult(method);
        }
        var text = await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false);
        string? type = null, error = null;
        GrainLocation? owner = null;
        try
        {
            var json = JsonNode.Parse(text);
            error = json?["error"]?.GetValue<string>();
            type = json?["error_type"]?.GetValue<string>();
            if (json?["owner"] is JsonNode node) owner = node.Deserialize<GrainLocation>(ClusterJson.Options);
        }
        catch (JsonException) { }
        error ??= $"HTTP {(int)response.StatusCode}: {text}";
        throw response.StatusCode switch
        {
            HttpStatusCode.Conflict when type == "GrainMoved" => new GrainMovedException(owner, error),
            HttpStatusCode.Unauthorized => new ClusterUnauthorizedException(error),
            _ => ClusterErrors.Recreate(type, error),
        };
    }
}
