using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cluster.Grains;
using Cluster.Serving;
using Cluster.Silo.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace Cluster.Silo.Dashboard;

/// <summary>
/// <c>/dashboard</c> on every silo: a page (plain HTML, one script, one style sheet, all embedded in this assembly: no
/// build step, nothing fetched from elsewhere) and the JSON it polls under <c>/dashboard/api</c>: members and devices,
/// jobs with their loss curves, models with their replicas. The page is public (it holds no data); the data needs an
/// API key when the silo has any, and cancelling a job also needs <see cref="IntentHeader"/>, which a cross-site form
/// cannot send.
/// </summary>
public static class DashboardEndpoints
{
    public const string PagePath = "/dashboard";
    public const string ApiPath = "/dashboard/api";
    public const string IntentHeader = "X-Cluster-Dashboard";

    static readonly string[] Assets = ["dashboard.html", "dashboard.js", "dashboard.css"];

    /// <summary>The page may load only what this silo serves, and may not be framed.</summary>
    const string ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // a diverged job's NaN loss is still shown
    };

    public static void MapDashboard(this WebApplication app)
    {
        app.MapGet(PagePath, (HttpContext http) => Asset(http, "dashboard.html")).ExcludeFromDescription();
        app.MapGet(PagePath + "/{file}", (string file, HttpContext http) => Asset(http, file)).ExcludeFromDescription();

        var api = app.MapGroup(ApiPath).RequireApiKey().ExcludeFromDescription();
        api.MapGet("/cluster", RouteHandler.OfContext(http =>
            Answer(http, data => data.ClusterAsync(http.RequestServices.GetRequiredService<ILocalSiloDetails>().Name))));
        api.MapGet("/jobs", RouteHandler.OfContext(http => Answer(http, data => data.JobsAsync())));
        api.MapGet("/jobs/{id}/steps", async (string id, long? after, HttpContext http) =>
            await Answer(http, data => data.StepsAsync(id, Math.Max(0, after ?? 0)), job: id));
        api.MapPost("/jobs/{id}/cancel", async (string id, HttpContext http) =>
            http.Request.Headers.ContainsKey(IntentHeader)
                ? await Answer(http, data => data.CancelAsync(id), job: id)
                : Results.Json(new ErrorBody($"cancelling a job needs the {IntentHeader} header (the dashboard's button sends it)", "forbidden"),
                    statusCode: StatusCodes.Status403Forbidden));
        api.MapGet("/models", RouteHandler.OfContext(http => Answer(http, data => data.ModelsAsync())));
    }

    /// <summary>Runs a query and answers its JSON; a job that was never submitted is 404, a cluster that does not answer 503.</summary>
    static async Task<IResult> Answer<T>(HttpContext http, Func<DashboardData, Task<T>> query, string? job = null)
    {
        var data = new DashboardData(http.RequestServices.GetRequiredService<IGrainFactory>());
        try
        {
            if (job is not null && !await data.JobExistsAsync(job))
                return Results.Json(new ErrorBody($"no job '{job}' was submitted to this cluster", "unknown_job"), statusCode: StatusCodes.Status404NotFound);
            return Results.Json(await query(data), Json);
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            return ServingErrors.Result(ServingErrorTypes.Unavailable, $"the cluster did not answer: {e.FirstLine()}", http);
        }
    }

    static readonly ConcurrentDictionary<string, byte[]> Loaded = new();

    static IResult Asset(HttpContext http, string file)
    {
        if (!Assets.Contains(file)) return Results.NotFound();
        var bytes = Loaded.GetOrAdd(file, name =>
        {
            using var stream = typeof(DashboardEndpoints).Assembly.GetManifestResourceStream("dashboard/" + name)
                ?? throw new InvalidOperationException($"the dashboard's {name} is not embedded in {typeof(DashboardEndpoints).Assembly.GetName().Name}");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        });
        http.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers.CacheControl = "no-cache"; // a rolling upgrade's page and script change together
        var type = Path.GetExtension(file) switch { ".html" => "text/html; charset=utf-8", ".js" => "text/javascript; charset=utf-8", _ => "text/css; charset=utf-8" };
        return Results.Bytes(bytes, type);
    }
}
