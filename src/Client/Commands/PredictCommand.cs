using System.CommandLine;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cluster.Client.Commands;

/// <summary>`cluster predict`: one request to a serving API, its answer printed as JSON.</summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "the serving API (any silo's HTTP address)", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var model = new Option<string>("--model") { Description = "the model's name", Required = true };
        var task = new Option<string>("--task") { Description = "a head name, or fill-mask, sequence-classification, token-classification, question-answering, multiple-choice, embed", Required = true };
        var apiKey = new Option<string?>("--api-key") { Description = "the API key (Bearer)" };
        var parameters = new Option<string?>("--parameters") { Description = "the request's parameters as a JSON object, e.g. '{\"top_k\": 3}'" };
        var json = new Option<string?>("--inputs-json") { Description = "the inputs as JSON (for question answering and multiple choice), instead of TEXT" };
        var texts = new Argument<string[]>("TEXT") { Description = "input texts (one: a single input; several: a batch)", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("predict", "Send one request to a serving API and print the answer") { url, model, task, apiKey, parameters, json, texts };
        command.SetAction(async (parsed, cancellation) =>
        {
            var given = parsed.GetValue(texts) ?? [];
            JsonNode? inputs = parsed.GetValue(json) is { } raw ? ParseJson(raw, "--inputs-json")
                : given.Length == 1 ? JsonValue.Create(given[0])
                : given.Length > 1 ? new JsonArray(given.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray())
                : throw new ArgumentException("give TEXT or --inputs-json");
            var body = new JsonObject { ["inputs"] = inputs };
            if (parsed.GetValue(parameters) is { } p) body["parameters"] = ParseJson(p, "--parameters");
            var address = $"{parsed.GetValue(url)!.TrimEnd('/')}/v1/models/{Uri.EscapeDataString(parsed.GetValue(model)!)}/{Uri.EscapeDataString(parsed.GetValue(task)!)}";
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
            using var request = new HttpRequestMessage(HttpMethod.Post, address) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
            if (parsed.GetValue(apiKey) is { } key) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            HttpResponseMessage response;
            try { response = await http.SendAsync(request, cancellation); }
            catch (HttpRequestException e) { throw new IOException($"{address}: {e.Message}"); }
            var text = await response.Content.ReadAsStringAsync(cancellation);
            if (response.IsSuccessStatusCode)
            {
                Console.WriteLine(JsonNode.Parse(text)?.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            var error = TryError(text);
            Console.Error.WriteLine($"cluster: {(int)response.StatusCode} {error ?? text}");
            return 1;
        });
        return command;
    }

    static JsonNode ParseJson(string text, string option)
    {
        try { return JsonNode.Parse(text) ?? throw new ArgumentException($"{option}: null is not an input"); }
        catch (JsonException e) { throw new ArgumentException($"{option}: not valid JSON ({e.Message})"); }
    }

    static string? TryError(string text)
    {
        try { return JsonNode.Parse(text) is JsonObject o && o["error"] is { } e ? $"{o["error_type"]}: {e}" : null; }
        catch (JsonException) { return null; }
    }
}
