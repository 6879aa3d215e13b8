using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace Cluster.Testing;

/// <summary>JSON answers equal up to 1e-5 in their numbers.</summary>
public static class JsonAssert
{
    public static void Close(JsonNode? expected, JsonNode? actual, string where)
    {
        switch (expected)
        {
            case JsonObject o:
                var other = Assert.IsType<JsonObject>(actual);
                Assert.Equal(o.Select(p => p.Key), other.Select(p => p.Key));
                foreach (var (key, value) in o) Close(value, other[key], $"{where}.{key}");
                break;
            case JsonArray a:
                var array = Assert.IsType<JsonArray>(actual);
                Assert.True(a.Count == array.Count, $"{where}: {a.Count} items expected, {array.Count} given");
                for (var i = 0; i < a.Count; i++) Close(a[i], array[i], $"{where}[{i}]");
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.Number:
                Assert.True(Math.Abs((double)v - (double)actual!) < 1e-5, $"{where}: {v} expected, {actual} given");
                break;
            default:
                Assert.Equal(expected?.ToJsonString(), actual?.ToJsonString());
                break;
        }
    }
}
