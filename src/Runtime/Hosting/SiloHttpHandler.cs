using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cluster.Runtime.Activation;
using Cluster.Runtime.Membership;
using Cluster.Runtime.Messaging;
using Microsoft.AspNetCore.Http;

namespace Cluster.Runtime.Hosting;

/// <summary>Every HTTP request a silo serves. The internal port takes silo-to-silo calls and (on silo 0
/// in development mode) membership operations, each with the cluster secret; the gateway port takes
/// clients' calls and the health, readiness and metrics probes.</summary>
internal sealed class SiloHttpHandler(Silo silo)
{
    readonly byte[] _secret = Encoding.UTF8.GetBytes(silo.Options.ClusterSecret ?? "");

    public Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        var post = HttpMethods.IsPost(context.Request.Method);
        if (context.Connection.LocalPort == silo.InternalPort)
        {
            if (!Authorized(context)) return Error(context, new ClusterUnauthorizedException("missing or wrong cluster secret"));
            return (path, post) switch
            {
                ("/internal/invoke", true) => InvokeAsync(context, routeAnywhere: false),
                ("/internal/membership", true) when silo.DevelopmentTable is not null => MembershipAsync(context, silo.DevelopmentTable),
                _ => Error(context, new UnknownGrainException($"no internal endpoint {context.Request.Method} {path}"), 404),
            };
        }
        return (path, post) switch
        {
            ("/gateway/invoke", true) => InvokeAsync(context, routeAnywhere: true),
            ("/health", false) => silo.IsFenced
                ? Json(context, 503, new { status = "fenced: declared dead by the cluster", silo = silo.Address.ToString() })
                : Json(context, 200, new { status = "healthy", silo = silo.Address.ToString() }),
            ("/ready", false) => silo.IsReady
                ? Json(context, 200, new { status = "ready", silo = silo.Address.ToString(), active_silos = silo.View.Active.Count })
                : Json(context, 503, new { status = "not ready", silo = silo.Address.ToString() }),
            ("/metrics", false) => MetricsAsync(context),
            _ => Error(context, new UnknownGrainException($"no endpoint {context.Request.Method} {path}"), 404),
        };
    }

    bool Authorized(HttpContext context)
    {
        var given = context.Request.Headers[WireFormat.SecretHeader].ToString();
        return _secret.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), _secret);
    }

    /// <summary>A call: the internal port runs it on this silo's activation (or answers 409 with the owner);
    /// the gateway routes it wherever the grain lives, as a call from this silo.</summary>
    async Task InvokeAsync(HttpContext context, bool routeAnywhere)
    {
        var cancellation = context.RequestAborted;
        try
        {
            using var message = await IncomingMessage.ReadAsync(context.Request.Body, context.Request.ContentLength,
                silo.Options.MaxMessageBytes, cancellation, routeAnywhere ? null : silo.Bulk.ReceiveAsync).ConfigureAwait(false);
            var grainClass = silo.Registry.Get(message.RequireString("grain"));
            var method = GrainRegistry.Method(grainClass, message.RequireString("method"));
            var key = message.RequireString("key");
            if (key.Length == 0) throw new MessageFormatException("grain key is empty");
            var args = message.ReadArguments(method);
            var grain = new GrainId(grainClass.Name, key);
            var result = routeAnywhere
                ? await silo.Runtime.InvokeAsync(grain, method, args, cancellation).ConfigureAwait(false)
                : await silo.Catalog.InvokeAsync(grain, method, args, cancellation).ConfigureAwait(false);
            var response = OutgoingMessage.Result(method, result);
            var bulkSent = Task.CompletedTask;
            if (!routeAnywhere && response.SegmentBytes >= silo.Options.BulkThresholdBytes
                && ReplyEndpoint(context.Request.Headers[WireFormat.ReplyBulkHeader].ToString()) is { } reply)
            {
                var id = Guid.NewGuid();
                bulkSent = silo.Connections.Bulk.SendAsync(reply, id, response.Segments, cancellation);
                response = response.WithBulkTransfer(id);
            }
            context.Response.StatusCode = 200;
            context.Response.ContentType = WireFormat.ContentType;
            context.Response.ContentLength = response.Length;
            await response.WriteToAsync(context.Response.Body, cancellation).ConfigureAwait(false);
            try { await bulkSent.ConfigureAwait(false); }
            catch (Exception) when (!cancellation.IsCancellationRequested)
            {
                context.Abort(); // the caller waits for bytes that will not come: cut the call so it fails now
                throw;
            }
        }
        catch (GrainMovedException moved)
        {
            await Error(context, moved, 409, moved.Owner).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            await Error(context, new MessageTooLargeException(e.Message), e.StatusCode).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // The caller went away (or timed out); nobody reads an answer.
        }
        catch (Exception e)
        {
            await Error(context, e).ConfigureAwait(false);
        }
    }

    static System.Net.IPEndPoint? ReplyEndpoint(string text) =>
        System.Net.IPEndPoint.TryParse(text, out var endpoint) && endpoint.Port > 0 ? endpoint : null;

    async Task MembershipAsync(HttpContext context, IClusterMembership table)
    {
        try
        {
            var request = await JsonSerializer.DeserializeAsync<MembershipRequest>(context.Request.Body, ClusterJson.Options, context.RequestAborted).ConfigureAwait(false)
                ?? throw new MessageFormatException("empty membership request");
            var response = await DevelopmentMembershipHost.HandleAsync(table, request, context.RequestAborted).ConfigureAwait(false);
            await Json(context, 200, response).ConfigureAwait(false);
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            await Error(context, e).ConfigureAwait(false);
        }
    }

    Task MetricsAsync(HttpContext context)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        return context.Response.WriteAsync(silo.Metrics.Render(silo.Catalog.CountByType(), silo.View, silo.Address, silo.Bulk.BytesReceived), context.RequestAborted);
    }

    static Task Json<T>(HttpContext context, int status, T body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(body, ClusterJson.Options), context.RequestAborted).AsTask();
    }

    static async Task Error(HttpContext context, Exception e, int? status = null, GrainLocation? owner = null)
    {
        if (context.Response.HasStarted) { context.Abort(); return; }
        context.Response.StatusCode = status ?? ClusterErrors.StatusFor(e);
        context.Response.ContentType = "application/json";
        try { await context.Response.Body.WriteAsync(ClusterHttp.ErrorBody(e, owner), context.RequestAborted).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
    }
}
