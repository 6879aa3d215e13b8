using Microsoft.AspNetCore.Http;

namespace Cluster.Silo;

public static class RouteHandler
{
    /// <summary>A handler of the context alone, as a route handler (its result written). Without the cast, a lambda
    /// from HttpContext to Task matches the RequestDelegate overload, which discards the result: an empty 200.</summary>
    public static Delegate OfContext(Func<HttpContext, Task<IResult>> handler) => handler;
}
