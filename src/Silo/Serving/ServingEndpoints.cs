using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Grains;
using Cluster.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Silo.Serving;

/// <summary>
/// The serving API on every silo: <c>POST /v1/models/{model}/{task}</c> and <c>GET /v1/models</c>; for the default
/// model TEI's <c>/embed</c>, <c>/predict</c>, <c>/tokenize</c> and OpenAI's <c>/v1/embeddings</c>. Requests go to the
/// model's router grain on this silo. Bearer API keys when configured; bodies over the size limit are 413 before they
/// are read; every refusal is <c>{"error", "error_type"}</c> with the status <see cref="ServingErrors"/> gives.
/// </summary>
public static class ServingEndpoints
{
    public static void MapServingEndpoints(this WebApplication app)
    {
        var api = app.MapGroup("").RequireApiKey();

        api.MapPost("/v1/models/{model}/{task}", async (string model, string task, HttpContext http) =>
                await Forward(http, model, task, shape: null))
            .WithSummary("Run a model's head or task")
            .WithDescription("Body {\"inputs\": ..., \"parameters\": {...}}; task is a head name or one of fill-mask, sequence-classification, token-classification, question-answering, multiple-choice, embed, tokenize.")
            .Accepts<JsonObject>("application/json").Produces<JsonNode>().Produces<ErrorBody>(401).Produces<ErrorBody>(404)
            .Produces<ErrorBody>(413).Produces<ErrorBody>(422).Produces<ErrorBody>(429).Produces<ErrorBody>(503);

        api.MapGet("/v1/models", async (HttpContext http) =>
            {
                var models = await Registry(http).List();
                return Results.Json(new { models, @default = await Registry(http).DefaultModel() }, SnakeCase);
            })
            .WithSummary("Deployed models, their heads and replicas (silo, device, readiness, queue depth)");

        api.MapPost("/embed", RouteHandler.OfContext(http => ForwardDefault(http, "embed", Tei("normalize", "truncate", "pooling"))))
            .WithSummary("TEI: embeddings of the default model").Accepts<JsonObject>("application/json");
        api.MapPost("/predict", RouteHandler.OfContext(http => ForwardDefault(http, "sequence-classification", body =>
            {
                // TEI answers every label, sorted; raw_scores skips the softmax.
                var request = Tei("truncate", "raw_scores")(body);
                var parameters = request["parameters"]!.AsObject();
                parameters["top_k"] = null;
                if (parameters["raw_scores"] is { } raw && parameters.Remove("raw_scores") && raw.GetValueKind() == JsonValueKind.True)
                    parameters["function_to_apply"] = "none";
                return request;
            })))
            .WithSummary("TEI: sequence classification by the default model").Accepts<JsonObject>("application/json");
        api.MapPost("/tokenize", RouteHandler.OfContext(http => ForwardDefault(http, "tokenize", Tei("add_special_tokens"))))
            .WithSummary("TEI: the default model's tokens for each input").Accepts<JsonObject>("application/json");
        api.MapPost("/v1/embeddings", RouteHandler.OfContext(OpenAiEmbeddings))
            .WithSummary("OpenAI-compatible embeddings (model: a deployed model, or the default)").Accepts<JsonObject>("application/json");
    }

    /// <summary>The API's field names are snake_case, as TEI's and Hugging Face's are.</summary>
    static readonly JsonSerializerOptions SnakeCase = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    static IServingRegistryGrain Registry(HttpContext http) =>
        http.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IServingRegistryGrain>(ServingRegistry.Key);

    /// <summary>TEI puts a route's options beside <c>inputs</c>: they become <c>parameters</c>.</summary>
    static Func<JsonObject, JsonObject> Tei(params string[] options) => body =>
    {
        var parameters = new JsonObject();
        foreach (var name in options)
            if (body[name] is { } value) parameters[name] = value.DeepClone();
        var unknown = body.Select(p => p.Key).FirstOrDefault(k => k != "inputs" && !options.Contains(k));
        if (unknown is not null) throw new BadRequest($"{unknown}: unknown field (this route takes inputs, {string.Join(", ", options)})");
        return new JsonObject { ["inputs"] = body["inputs"]?.DeepClone(), ["parameters"] = parameters };
    };

    static async Task<IResult> ForwardDefault(HttpContext http, string task, Func<JsonObject, JsonObject> shape)
    {
        var model = await Registry(http).DefaultModel();
        if (model is null) return ServingErrors.Result(ServingErrorTypes.UnknownModel, "no model is deployed", http);
        return await Forward(http, model, task, shape);
    }

    /// <summary>Reads the body within the limit, reshapes it for the task, asks the router, answers its reply. Without a
    /// shape the body goes as it came: the replica parses it (and refuses what is not a JSON object) once, not twice.</summary>
    static async Task<IResult> Forward(HttpContext http, string model, string task, Func<JsonObject, JsonObject>? shape)
    {
        var started = Stopwatch.GetTimestamp();
        var result = await Answer(http, model, task, shape);
        ServingHttpMetrics.Record(model, task, StatusOf(result), started);
        return result;
    }

    static int StatusOf(IResult result) => result is IStatusCodeHttpResult { StatusCode: { } code } ? code : 200;

    static async Task<IResult> Answer(HttpContext http, string model, string task, Func<JsonObject, JsonObject>? shape)
    {
        try
        {
            var bytes = await ReadBytes(http);
            var body = shape is null ? Text(bytes) : shape(Parse(bytes)).ToJsonString();
            var reply = await http.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IModelRouterGrain>(model)
                .Infer(new InferenceCall(model, task, body));
            return reply.Ok
                ? Results.Text(reply.Json!, "application/json", Encoding.UTF8)
                : ServingErrors.Result(reply.ErrorType!, reply.Error!, http);
        }
        catch (BadRequest e) { return ServingErrors.Result(e.ErrorType, e.Message, http); }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            // Orleans' messages carry their inner exception's text over several lines: the client gets the first.
            return ServingErrors.Result(ServingErrorTypes.Unavailable, $"model {model}: {e.FirstLine()}", http);
        }
    }

    static async Task<IResult> OpenAiEmbeddings(HttpContext http)
    {
        var started = Stopwatch.GetTimestamp();
        string model = "";
        try
        {
            var body = await ReadBody(http);
            var unknown = body.Select(p => p.Key).FirstOrDefault(k => k is not ("input" or "model" or "encoding_format" or "user" or "dimensions"));
            if (unknown is not null) throw new BadRequest($"{unknown}: unknown field (input, model, encoding_format, user)");
            if (body["encoding_format"] is { } format && format.GetValueKind() == JsonValueKind.String && format.GetValue<string>() != "float")
                throw new BadRequest("encoding_format: only \"float\" is served");
            if (body["dimensions"] is not null) throw new BadRequest("dimensions: the model's own size is the only one served");
            model = body["model"]?.GetValueKind() == JsonValueKind.String ? body["model"]!.GetValue<string>() : await Registry(http).DefaultModel() ?? "";
            if (model.Length == 0) return ServingErrors.Result(ServingErrorTypes.UnknownModel, "no model is deployed", http);
            var router = http.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IModelRouterGrain>(model);
            var request = new JsonObject { ["inputs"] = body["input"]?.DeepClone() }.ToJsonString();
            var embedded = router.Infer(new InferenceCall(model, "embed", request));
            var tokens = router.Infer(new InferenceCall(model, "tokenize", request));
            var (vectors, counted) = (await embedded, await tokens);
            var failed = !vectors.Ok ? vectors : !counted.Ok ? counted : null;
            if (failed is not null) return ServingErrors.Result(failed.ErrorType!, failed.Error!, http);
            var data = JsonNode.Parse(vectors.Json!)!.AsArray().Select((v, i) => (JsonNode)new JsonObject
            {
                ["object"] = "embedding", ["index"] = i, ["embedding"] = v!.DeepClone(),
            }).ToArray();
            var used = JsonNode.Parse(counted.Json!)!.AsArray().Sum(row => row!.AsArray().Count);
            ServingHttpMetrics.Record(model, "embeddings", 200, started);
            return Results.Json(new JsonObject
            {
                ["object"] = "list", ["data"] = new JsonArray(data), ["model"] = model,
                ["usage"] = new JsonObject { ["prompt_tokens"] = used, ["total_tokens"] = used },
            });
        }
        catch (BadRequest e)
        {
            ServingHttpMetrics.Record(model, "embeddings", ServingErrors.Status(e.ErrorType), started);
            return ServingErrors.Result(e.ErrorType, e.Message, http);
        }
    }

    static async Task<JsonObject> ReadBody(HttpContext http) => Parse(await ReadBytes(http));

    /// <summary>The body's bytes, refusing a body over the size limit before reading it all.</summary>
    static async Task<byte[]> ReadBytes(HttpContext http)
    {
        var limit = http.RequestServices.GetRequiredService<SiloSettings>().MaxRequestBytes;
        if (http.Request.ContentLength > limit)
            throw new BadRequest($"the request body has {http.Request.ContentLength} bytes, more than the limit of {limit}", ServingErrorTypes.TooLarge);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
        {
            if (buffer.Length + read > limit)
                throw new BadRequest($"the request body is more than the limit of {limit} bytes", ServingErrorTypes.TooLarge);
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    static JsonObject Parse(byte[] body)
    {
        try
        {
            return JsonNode.Parse(body) as JsonObject
                ?? throw new BadRequest("the request body must be a JSON object");
        }
        catch (JsonException e) { throw new BadRequest($"the request body is not valid JSON: {e.Message}"); }
    }

    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    static string Text(byte[] body)
    {
        try { return StrictUtf8.GetString(body).TrimStart('\uFEFF'); } // a byte-order mark is not JSON
        catch (DecoderFallbackException e) { throw new BadRequest($"the request body is not valid UTF-8 (byte {e.Index})"); }
    }

    sealed class BadRequest(string message, string errorType = ServingErrorTypes.InvalidInput) : Exception(message)
    {
        public string ErrorType { get; } = errorType;
    }
}
