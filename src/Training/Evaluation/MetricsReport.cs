using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cluster.Training.Evaluation;

/// <summary>Evaluation metrics as a person reads them (one line, counts left out) and as files hold them (JSON, NaN
/// written as "NaN": an F1 over no entity is undefined, not an error).</summary>
public static class MetricsReport
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static string Line(IEnumerable<KeyValuePair<string, double>> metrics) =>
        string.Join(", ", metrics.Where(kv => !kv.Key.EndsWith("_samples", StringComparison.Ordinal))
            .Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:0.####}")));

    public static string ToJson(IReadOnlyDictionary<string, object> values) => JsonSerializer.Serialize(values, Json);
}
