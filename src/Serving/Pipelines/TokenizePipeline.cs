using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Model.Tokenization;

namespace Cluster.Serving.Pipelines;

/// <summary>TEI's <c>/tokenize</c>: for each input its tokens as <c>{id, text, special, start, stop}</c>, where text is
/// the input's characters the token came from (the token itself for a special one) and start/stop count code points.</summary>
internal static class TokenizePipeline
{
    public static JsonNode Answer(JsonElement request, Tokenizer tokenizer, ServingLimits limits)
    {
        var parameters = new RequestParameters(request.TryGetProperty("parameters", out var p) ? p : null);
        var special = parameters.Bool("add_special_tokens", true);
        parameters.RejectUnknown("tokenize");
        var inputs = request.TryGetProperty("inputs", out var i) ? i : default;
        var (items, _) = RequestInputs.Items(inputs, limits, RequestInputs.IsString, "a string");
        return new JsonArray(items.Select((item, index) =>
        {
            var text = item.GetString()!;
            TokenEncoding e;
            try { e = tokenizer.Encode(text, null, new EncodeOptions { AddSpecialTokens = special, Truncation = null }); }
            catch (TokenizerException x) { throw new InvalidRequestException($"inputs[{index}]: {x.Message}"); }
            var offsets = new CodePointText(text);
            return (JsonNode)new JsonArray(Enumerable.Range(0, e.Length).Select(t =>
            {
                var isSpecial = e.SpecialTokensMask[t] == 1;
                var (start, stop) = e.Offsets[t];
                return (JsonNode)new JsonObject
                {
                    ["id"] = e.InputIds[t],
                    ["text"] = isSpecial ? tokenizer.IdToToken(e.InputIds[t]) : offsets.Slice(start, stop),
                    ["special"] = isSpecial,
                    ["start"] = start,
                    ["stop"] = stop,
                };
            }).ToArray());
        }).ToArray());
    }
}
