using System.Collections.Concurrent;
using System.Net;

namespace Cluster.Runtime.Messaging;

/// <summary>Calls from this silo to others over HTTP/2 on their internal ports, with the cluster secret.
/// Calls in flight to a silo that membership declares dead are cancelled with a clear error rather
/// than left to hang until their timeout.</summary>
internal sealed class SiloConnections(string secret, long maxMessageBytes, long bulkThresholdBytes) : IDisposable
{
    internal BulkSender Bulk { get; } = new(secret);

    /// <summary>Where peers may send large results for this silo's calls ("host:port" of its bulk receiver), and that receiver.</summary>
    public (string Endpoint, BulkReceiver Receiver)? ReplyBulk { get; set; }

    /// <summary>A peer's bulk port from the membership view (0: none, send everything over HTTP/2).</summary>
    public Func<SiloAddress, int> BulkPortOf { get; set; } = _ => 0;

    readonly HttpClient _http = ClusterHttp.CreateClient(TimeSpan.FromSeconds(5));
    // Membership traffic (heartbeats) gets its own connections, so it never queues behind a flood of grain calls.
    readonly HttpClient _control = ClusterHttp.CreateClient(TimeSpan.FromSeconds(5));
    readonly ConcurrentDictionary<SiloAddress, CancellationTokenSource> _alive = new();

    public async Task<object?> InvokeAsync(SiloAddress target, GrainId grain, GrainMethod method, OutgoingMessage call, CancellationToken cancellation)
    {
        var death = _alive.GetOrAdd(target, _ => new CancellationTokenSource()).Token;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, death);
        Task bulkSent = Task.CompletedTask;
        var bulkPort = call.SegmentBytes >= bulkThresholdBytes ? BulkPortOf(target) : 0;
        if (bulkPort > 0 && IPAddress.TryParse(target.Host, out var ip))
        {
            var id = Guid.NewGuid();
            bulkSent = Bulk.SendAsync(new IPEndPoint(ip, bulkPort), id, call.Segments, linked.Token);
            call = call.WithBulkTransfer(id);
        }
        using var request = ClusterHttp.Post(_http, new Uri(target.BaseUri, "internal/invoke"), call.ToContent());
        request.Headers.Add(WireFormat.SecretHeader, secret);
        if (ReplyBulk is { } reply) request.Headers.Add(WireFormat.ReplyBulkHeader, reply.Endpoint);
        try
        {
            var answered = CallAsync(request, method, linked.Token);
            // The receiver waits for the bulk bytes; if sending them fails, do not wait for an answer that cannot come.
            if (await Task.WhenAny(answered, bulkSent).ConfigureAwait(false) == bulkSent && bulkSent.IsFaulted)
            {
                linked.Cancel();
                await bulkSent.ConfigureAwait(false);
            }
            var result = await answered.ConfigureAwait(false);
            await bulkSent.ConfigureAwait(false);
            return result;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            if (death.IsCancellationRequested)
                throw new SiloUnavailableException($"silo {target} was declared dead while {grain}.{method.Name} was in flight", e);
            if (cancellation.IsCancellationRequested) throw;
            throw new SiloUnavailableException($"silo {target} failed during {grain}.{method.Name}: {e.Message}", e);
        }
    }

    async Task<object?> CallAsync(HttpRequestMessage request, GrainMethod method, CancellationToken cancellation)
    {
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation).ConfigureAwait(false);
        Func<Guid, CancellationToken, Task<byte[][]>>? bulk = ReplyBulk is { } reply ? reply.Receiver.ReceiveAsync : null;
        return await ClusterHttp.ReadResultAsync(response, method, maxMessageBytes, cancellation, bulk).ConfigureAwait(false);
    }

    /// <summary>POSTs JSON to another silo's internal endpoint (development membership uses it).</summary>
    public async Task<HttpResponseMessage> PostJsonAsync(Uri uri, byte[] json, CancellationToken cancellation)
    {
        var content = new ByteArrayContent(json);
        content.Headers.ContentType = new("application/json");
        using var request = ClusterHttp.Post(_control, uri, content);
        request.Headers.Add(WireFormat.SecretHeader, secret);
        return await _control.SendAsync(request, cancellation).ConfigureAwait(false);
    }

    public void MarkDead(SiloAddress silo)
    {
        if (_alive.TryRemove(silo, out var cts)) cts.Cancel();
    }

    public void Dispose()
    {
        _http.Dispose();
        _control.Dispose();
        Bulk.Dispose();
        foreach (var cts in _alive.Values) cts.Cancel();
    }
}
