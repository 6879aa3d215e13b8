using System.Text.Json;
using Cluster.Model.Tokenization;
using Cluster.Serving.Replica;

namespace Cluster.Serving.Pipelines;

/// <summary>Reading a request's <c>inputs</c> (one item or an array of them, as HF's pipelines take) and turning text
/// into rows within the limits.</summary>
public static class RequestInputs
{
    /// <summary>The items of <paramref name="inputs"/> and whether it was a single one (pipelines then answer unwrapped).</summary>
    public static (IReadOnlyList<JsonElement> items, bool single) Items(JsonElement inputs, ServingLimits limits, Func<JsonElement, bool> isItem, string expected)
    {
        if (inputs.ValueKind == JsonValueKind.Undefined) throw new InvalidRequestException("inputs: missing");
        if (isItem(inputs)) return ([inputs], true);
        if (inputs.ValueKind != JsonValueKind.Array) throw new InvalidRequestException($"inputs: expected {expected} or an array of them, got {RequestParameters.Kind(inputs)}");
        var items = inputs.EnumerateArray().ToList();
        if (items.Count == 0) throw new InvalidRequestException("inputs: the array is empty");
        if (items.Count > limits.MaxInputsPerRequest)
            throw new RequestTooLargeException($"inputs: {items.Count} inputs, more than the limit of {limits.MaxInputsPerRequest} per request");
        for (var i = 0; i < items.Count; i++)
            if (!isItem(items[i])) throw new InvalidRequestException($"inputs[{i}]: expected {expected}, got {RequestParameters.Kind(items[i])}");
        return (items, false);
    }

    public static bool IsString(JsonElement e) => e.ValueKind == JsonValueKind.String;

    public static string Field(JsonElement item, string name, string where, bool allowEmpty = false)
    {
        if (!item.TryGetProperty(name, out var v)) throw new InvalidRequestException($"{where}.{name}: missing");
        if (v.ValueKind != JsonValueKind.String) throw new InvalidRequestException($"{where}.{name}: expected a string, got {RequestParameters.Kind(v)}");
        var s = v.GetString()!;
        return s.Length > 0 || allowEmpty ? s : throw new InvalidRequestException($"{where}.{name}: cannot be empty");
    }

    public static string Where(int index, bool single) => single ? "inputs" : $"inputs[{index}]";

    /// <summary>Encodes text (a pair when <paramref name="pair"/> is given) within the token limit: cut when
    /// <paramref name="truncate"/>, else refused naming the input and its length.</summary>
    public static TokenEncoding Encode(Tokenizer tokenizer, string text, string? pair, int maxTokens, bool truncate, string where,
        TruncationStrategy strategy = TruncationStrategy.LongestFirst)
    {
        try
        {
            var encoding = tokenizer.Encode(text, pair, truncate
                ? new EncodeOptions { MaxLength = maxTokens, Truncation = strategy }
                : new EncodeOptions { Truncation = null });
            if (encoding.Length > maxTokens)
                throw new RequestTooLargeException($"{where}: {encoding.Length} tokens, more than the limit of {maxTokens} (send \"truncate\": true in parameters to cut it)");
            return encoding;
        }
        catch (TokenizerException e) { throw new InvalidRequestException($"{where}: {e.Message}"); }
    }

    public static EncodedRow Row(TokenEncoding e) => new(e.InputIds, e.TokenTypeIds, e.InputShapeIds, e.InputPronunciationIds);
}
