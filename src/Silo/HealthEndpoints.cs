using Cluster.Grains;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace Cluster.Silo;

/// <summary><c>/health</c>: the process is up. <c>/ready</c>: this silo is an active member and a grain call to it
/// answers (Kubernetes' readiness and startup probes).</summary>
public static class HealthEndpoints
{
    /// <summary>Liveness: the process answers.</summary>
    public const string HealthPath = "/health";

    /// <summary>Readiness (and startup): an active member whose grains answer.</summary>
    public const string ReadyPath = "/ready";

    /// <summary>Prometheus' scrape endpoint.</summary>
    public const string MetricsPath = "/metrics";

    public static void MapHealthEndpoints(this WebApplication app)
    {
        app.MapGet(HealthPath, () => Results.Json(new { status = "up" }));
        app.MapGet(ReadyPath, async (HttpContext http) =>
        {
            var services = http.RequestServices;
            var silo = services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
            var status = services.GetRequiredService<IClusterMembershipService>().CurrentSnapshot.GetSiloStatus(silo);
            if (status != SiloStatus.Active)
                return Results.Json(new { error = $"silo is {status}, not an active member", error_type = "not_ready" }, statusCode: 503);
            try
            {
                var report = await services.GetRequiredService<IGrainFactory>().GetGrain<IDiagnosticsGrain>(silo.ToParsableString())
                    .Report().WaitAsync(TimeSpan.FromSeconds(5), http.RequestAborted);
                return Results.Json(new { status = "ready", silo = report.Silo, name = report.Name, devices = report.Devices });
            }
            catch (Exception e) when (e is TimeoutException or OrleansException or OperationCanceledException)
            {
                return Results.Json(new { error = $"a grain call to this silo failed: {e.Message}", error_type = "not_ready" }, statusCode: 503);
            }
        });
    }
}
