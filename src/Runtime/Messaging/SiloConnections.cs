using System.Collections.Concurrent;

namespace Cluster.Runtime.Messaging;

/// <summary>Calls from this silo to others over HTTP/2 on their internal ports, with the cluster secret.
/// Calls in flight to a silo that membership declares dead are cancelled with a clear error rather
/// than left to hang until their timeout.</summary>
internal sealed class SiloConnections(string secret, long maxMessageBytes) : IDisposable
{
    readonly HttpClient _http = ClusterHttp.CreateClient(TimeSpan.FromSeconds(5));
    // Membership traffic (heartbeats) gets its own connections, so it never queues behind a flood of grain calls.
    readonly HttpClient _control = ClusterHttp.CreateClient(TimeSpan.FromSeconds(5));
    readonly ConcurrentDictionary<SiloAddress, CancellationTokenSource> _alive = new();

    public async Task<object?> InvokeAsync(SiloAddress target, GrainId grain, GrainMethod method, OutgoingMessage call, CancellationToken cancellation)
    {
        var death = _alive.GetOrAdd(target, _ => new CancellationTokenSource()).Token;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, death);
        using var request = ClusterHttp.Post(_http, new Uri(target.BaseUri, "internal/invoke"), call.ToContent());
        request.Headers.Add(WireFormat.SecretHeader, secret);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            return await ClusterHttp.ReadResultAsync(response, method, maxMessageBytes, linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            if (death.IsCancellationRequested)
                throw new SiloUnavailableException($"silo {target} was declared dead while {grain}.{method.Name} was in flight", e);
            if (cancellation.IsCancellationRequested) throw;
            throw new SiloUnavailableException($"silo {target} failed during {grain}.{method.Name}: {e.Message}", e);
        }
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
        foreach (var cts in _alive.Values) cts.Cancel();
    }
}
