using System.Security.Cryptography;
using System.Text;
using Cluster.Serving;
using Cluster.Silo.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Silo;

/// <summary>Bearer API keys (<c>--api-key</c>): the serving API and the dashboard's data need one when any is configured.</summary>
public static class ApiKeys
{
    public static RouteGroupBuilder RequireApiKey(this RouteGroupBuilder group)
    {
        group.AddEndpointFilter(async (context, next) =>
            Authorized(context.HttpContext) ? await next(context)
                : ServingErrors.Result(ServingErrorTypes.Unauthorized, "a valid API key is required: Authorization: Bearer KEY", context.HttpContext));
        return group;
    }

    static bool Authorized(HttpContext http)
    {
        var keys = http.RequestServices.GetRequiredService<SiloSettings>().ApiKeys;
        if (keys.Count == 0) return true;
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return false;
        var given = Encoding.UTF8.GetBytes(header[7..].Trim());
        return keys.Any(k => CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(k), given));
    }
}
