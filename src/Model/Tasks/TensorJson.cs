using System.Text;
using System.Text.Json;
using Cluster.Torch;

namespace Cluster.Model.Tasks;

/// <summary>
/// Tensors as JSON nested arrays. Numbers written with a decimal point or exponent make a float32
/// tensor, plain integers an int64 one (as torch.tensor does with Python numbers). JSON has no NaN or infinity: an
/// output holding them writes the strings "NaN", "Infinity" and "-Infinity" (Python's json module spells them so,
/// unquoted) and counts them, so the caller can warn.
/// </summary>
public static class TensorJson
{
    /// <summary>Every member of a JSON object as a tensor (owned by the caller's DisposeScope).</summary>
    /// <param name="maxElements">the most numbers one tensor may hold, checked from the JSON before a tensor is built</param>
    public static Dictionary<string, Tensor> ParseObject(string json, string source, long maxElements = long.MaxValue)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new ArgumentException($"{source}: invalid JSON ({e.Message})"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ArgumentException($"{source}: expected a JSON object of named tensors");
            var result = new Dictionary<string, Tensor>();
            foreach (var member in doc.RootElement.EnumerateObject())
                result[member.Name] = Parse(member.Value, $"{source}: '{member.Name}'", maxElements);
            return result;
        }
    }

    public static Tensor Parse(JsonElement value, string what, long maxElements = long.MaxValue)
    {
        var shape = new List<long>();
        for (var e = value; e.ValueKind == JsonValueKind.Array; e = e.GetArrayLength() > 0 ? e[0] : default)
        {
            shape.Add(e.GetArrayLength());
            if (e.GetArrayLength() == 0) break;
        }
        long elements = shape.Aggregate(1L, (n, d) => n * d);
        if (elements > maxElements)
            throw new ArgumentException($"{what}: shape [{string.Join(", ", shape)}] holds {elements} numbers, more than the {maxElements} an input may have");
        var numbers = new List<JsonElement>();
        Collect(value, 0, shape, numbers, what);
        bool isFloat = numbers.Any(n => n.GetRawText().IndexOfAny(['.', 'e', 'E']) >= 0);
        if (isFloat)
        {
            var floats = numbers.Select(n => n.GetDouble()).ToArray();
            if (floats.Any(f => Math.Abs(f) > float.MaxValue)) throw new ArgumentException($"{what}: a number is beyond float32's range");
            return torch.tensor(floats.Select(f => (float)f).ToArray(), shape.ToArray());
        }
        try { return torch.tensor(numbers.Select(n => n.GetInt64()).ToArray(), shape.ToArray()); }
        catch (FormatException) { throw new ArgumentException($"{what}: an integer is out of range"); }
    }

    private static void Collect(JsonElement e, int depth, List<long> shape, List<JsonElement> into, string what)
    {
        if (depth == shape.Count)
        {
            if (e.ValueKind != JsonValueKind.Number) throw new ArgumentException($"{what}: expected a number at depth {depth}, found {e.ValueKind}");
            into.Add(e);
            return;
        }
        if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != shape[depth])
            throw new ArgumentException($"{what}: not a rectangular array (dimension {depth} should have {shape[depth]} entries)");
        foreach (var item in e.EnumerateArray()) Collect(item, depth + 1, shape, into, what);
    }

    /// <summary>One JSON object: each tensor as nested arrays (floats as float32, shortest round-trip form).</summary>
    public static string Serialize(IEnumerable<KeyValuePair<string, Tensor>> tensors) => Serialize(tensors, out _);

    /// <param name="nonFinite">how many NaN or infinite values were written as strings</param>
    public static string Serialize(IEnumerable<KeyValuePair<string, Tensor>> tensors, out long nonFinite)
    {
        long count = 0;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var (name, t) in tensors)
            {
                w.WritePropertyName(name);
                using var scope = torch.NewDisposeScope();
                var cpu = t.detach().cpu();
                if (cpu.dtype.IsFloatingPoint()) Write(w, cpu.to(ScalarType.Float32).ToArray<float>(), cpu.shape, (wr, v) =>
                {
                    if (float.IsFinite(v)) wr.WriteNumberValue(v);
                    else
                    {
                        count++;
                        wr.WriteStringValue(float.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
                    }
                });
                else if (cpu.dtype == ScalarType.Bool) Write(w, cpu.ToArray<bool>(), cpu.shape, (wr, v) => wr.WriteBooleanValue(v));
                else Write(w, cpu.to(ScalarType.Int64).ToArray<long>(), cpu.shape, (wr, v) => wr.WriteNumberValue(v));
            }
            w.WriteEndObject();
        }
        nonFinite = count;
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Write<T>(Utf8JsonWriter w, T[] values, long[] shape, Action<Utf8JsonWriter, T> write)
    {
        int at = 0;
        void Level(int depth)
        {
            if (depth == shape.Length)
            {
                write(w, values[at++]);
                return;
            }
            w.WriteStartArray();
            for (long i = 0; i < shape[depth]; i++) Level(depth + 1);
            w.WriteEndArray();
        }
        Level(0);
    }
}
