using System.Text.Json;

namespace Cluster.Serving.Pipelines;

/// <summary>A request's <c>parameters</c> object, read field by field; a wrong type, a value out of range or a name the
/// task does not know is a 422 naming <c>parameters.NAME</c>.</summary>
public sealed class RequestParameters
{
    readonly Dictionary<string, JsonElement> _values = new(StringComparer.Ordinal);
    readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public RequestParameters(JsonElement? parameters)
    {
        if (parameters is not { } p || p.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) return;
        if (p.ValueKind != JsonValueKind.Object) throw new InvalidRequestException($"parameters: expected an object, got {Kind(p)}");
        foreach (var property in p.EnumerateObject()) _values[property.Name] = property.Value;
    }

    public bool Has(string name) => _values.ContainsKey(name);

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue) => IntOrNull(name, fallback, min, max) ?? fallback;

    /// <summary>An integer, or null when the request sends null; <paramref name="fallback"/> when it is absent.</summary>
    public int? IntOrNull(string name, int? fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        _read.Add(name);
        if (!_values.TryGetValue(name, out var v)) return fallback;
        if (v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i))
            throw new InvalidRequestException($"parameters.{name}: expected an integer, got {Kind(v)}");
        if (i < min || i > max)
            throw new InvalidRequestException($"parameters.{name}: {i} is out of range ({min}{(max == int.MaxValue ? " or more" : $" to {max}")})");
        return i;
    }

    public double? Double(string name, double? fallback)
    {
        _read.Add(name);
        if (!_values.TryGetValue(name, out var v)) return fallback;
        if (v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw new InvalidRequestException($"parameters.{name}: expected a number, got {Kind(v)}");
    }

    public bool Bool(string name, bool fallback)
    {
        _read.Add(name);
        if (!_values.TryGetValue(name, out var v)) return fallback;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidRequestException($"parameters.{name}: expected true or false, got {Kind(v)}"),
        };
    }

    /// <summary>One of <paramref name="allowed"/> (compared ignoring case, returned lower-case).</summary>
    public string Choice(string name, string fallback, params string[] allowed)
    {
        _read.Add(name);
        if (!_values.TryGetValue(name, out var v)) return fallback;
        var s = v.ValueKind == JsonValueKind.String ? v.GetString()!.ToLowerInvariant() : throw new InvalidRequestException($"parameters.{name}: expected a string, got {Kind(v)}");
        return allowed.Contains(s) ? s : throw new InvalidRequestException($"parameters.{name}: '{v.GetString()}' is not one of {string.Join(", ", allowed)}");
    }

    public IReadOnlyList<string>? Strings(string name)
    {
        _read.Add(name);
        if (!_values.TryGetValue(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
            throw new InvalidRequestException($"parameters.{name}: expected an array of strings, got {Kind(v)}");
        return v.EnumerateArray().Select(e => e.GetString()!).ToList();
    }

    /// <summary>Called once the task read what it knows: anything else the request sent is an error, not silently ignored.</summary>
    public void RejectUnknown(string task)
    {
        var unknown = _values.Keys.FirstOrDefault(k => !_read.Contains(k));
        if (unknown is not null)
            throw new InvalidRequestException($"parameters.{unknown}: {task} has no such parameter (it takes {string.Join(", ", _read.Order())})");
    }

    internal static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object", JsonValueKind.Array => "an array", JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number", JsonValueKind.True or JsonValueKind.False => "a boolean", _ => "null",
    };
}
