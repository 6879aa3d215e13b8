using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Serving.Replica;

namespace Cluster.Serving.Pipelines;

/// <summary>TEI's <c>/embed</c>: one vector per input, always a list of vectors; pooled from the encoder's last hidden
/// state by the first token (<c>cls</c>, the default) or the mean over the attention mask (<c>mean</c>), L2-normalised
/// unless <c>normalize</c> is false.</summary>
internal sealed class EmbeddingPipeline : IPipeline
{
    public Prepared Prepare(JsonElement inputs, RequestParameters parameters, ReplicaHead head, ServingLimits limits)
    {
        var pooling = parameters.Choice("pooling", "cls", "cls", "mean");
        var normalize = parameters.Bool("normalize", true);
        var truncate = parameters.Bool("truncate", limits.AutoTruncate);
        parameters.RejectUnknown("embed");
        var (items, single) = RequestInputs.Items(inputs, limits, RequestInputs.IsString, "a string");
        var max = limits.TokensFor(head.Config);
        var rows = items.Select((item, i) => RequestInputs.Row(RequestInputs.Encode(head.Tokenizer, item.GetString()!, null, max, truncate, RequestInputs.Where(i, single)))).ToList();
        return new Prepared(new WorkItem(head, rows), outputs => new JsonArray(outputs.Select(o => (JsonNode)Vector(o.Values, pooling, normalize)).ToArray()));
    }

    /// <summary>The row output holds the first token's vector then the mean; picks one and normalises it (in float32).</summary>
    internal static JsonArray Vector(float[] values, string pooling, bool normalize)
    {
        var hidden = values.Length / 2;
        var v = values.AsSpan(pooling == "cls" ? 0 : hidden, hidden).ToArray();
        if (normalize)
        {
            var norm = MathF.Sqrt(v.Sum(x => x * x));
            if (norm > 0) for (var i = 0; i < v.Length; i++) v[i] /= norm;
        }
        return new JsonArray(v.Select(x => (JsonNode)(double)x).ToArray());
    }
}
