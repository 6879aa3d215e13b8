using System.Diagnostics;
using System.Diagnostics.Metrics;
using Cluster.Serving;
using Microsoft.AspNetCore.Http;

namespace Cluster.Silo.Serving;

/// <summary>The one place an error kind becomes an HTTP status, and the API's error body.</summary>
public static class ServingErrors
{
    public static int Status(string errorType) => errorType switch
    {
        ServingErrorTypes.UnknownModel or ServingErrorTypes.UnknownHead => StatusCodes.Status404NotFound,
        ServingErrorTypes.InvalidInput => StatusCodes.Status422UnprocessableEntity,
        ServingErrorTypes.TooLarge => StatusCodes.Status413PayloadTooLarge,
        ServingErrorTypes.Overloaded => StatusCodes.Status429TooManyRequests,
        ServingErrorTypes.Unauthorized => StatusCodes.Status401Unauthorized,
        ServingErrorTypes.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static IResult Result(string errorType, string message, HttpContext http)
    {
        var status = Status(errorType);
        // Back-pressure: a full queue drains in well under a second at any load this API admits.
        if (status == StatusCodes.Status429TooManyRequests) http.Response.Headers.RetryAfter = "1";
        if (status == StatusCodes.Status401Unauthorized) http.Response.Headers.WWWAuthenticate = "Bearer";
        return Results.Json(new ErrorBody(message, errorType), statusCode: status);
    }
}

/// <summary>Every error the API answers: <c>{"error": "...", "error_type": "..."}</c>.</summary>
public sealed record ErrorBody(
    [property: System.Text.Json.Serialization.JsonPropertyName("error")] string Error,
    [property: System.Text.Json.Serialization.JsonPropertyName("error_type")] string ErrorType);

/// <summary>Requests by model, task and status, and their latency, as this silo's HTTP layer saw them.</summary>
public static class ServingHttpMetrics
{
    static readonly Meter Meter = new(ServingMetrics.MeterName + ".Http");
    static readonly Counter<long> Requests = Meter.CreateCounter<long>("cluster_serving_requests", null, "serving API requests by model, task and status");
    static readonly Histogram<double> Latency = Meter.CreateHistogram<double>("cluster_serving_request_seconds", "s", "serving API request latency");

    public static string Name => Meter.Name;

    public static void Record(string model, string task, int status, long started)
    {
        var tags = new TagList { { "model", model }, { "task", task }, { "status", status } };
        Requests.Add(1, tags);
        Latency.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
    }
}
