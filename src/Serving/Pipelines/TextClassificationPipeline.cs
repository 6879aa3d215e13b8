using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Serving.Replica;

namespace Cluster.Serving.Pipelines;

/// <summary>HF's text-classification: softmax, sigmoid or nothing over the logits (chosen from problem_type and
/// num_labels unless <c>function_to_apply</c> says), labels from id2label. Without <c>top_k</c> the best label
/// alone, a single text still answered as a one-item list (HF's legacy shape); with <c>top_k</c> (null for all)
/// every input gets its labels sorted by score. An input is a text or <c>{"text", "text_pair"}</c>.</summary>
internal sealed class TextClassificationPipeline : IPipeline
{
    public Prepared Prepare(JsonElement inputs, RequestParameters parameters, ReplicaHead head, ServingLimits limits)
    {
        var config = head.Config;
        var legacy = !parameters.Has("top_k");
        var topK = parameters.IntOrNull("top_k", 1, 1);
        var function = parameters.Choice("function_to_apply", Default(config), "softmax", "sigmoid", "none");
        var truncate = parameters.Bool("truncate", limits.AutoTruncate);
        parameters.RejectUnknown("sequence-classification");
        var (items, single) = RequestInputs.Items(inputs, limits, e => e.ValueKind is JsonValueKind.String or JsonValueKind.Object, "a string or {\"text\", \"text_pair\"}");
        var max = limits.TokensFor(config);
        var rows = items.Select((item, i) =>
        {
            var where = RequestInputs.Where(i, single);
            var (text, pair) = item.ValueKind == JsonValueKind.String
                ? (item.GetString()!, null)
                : (RequestInputs.Field(item, "text", where), item.TryGetProperty("text_pair", out _) ? RequestInputs.Field(item, "text_pair", where) : null);
            return RequestInputs.Row(RequestInputs.Encode(head.Tokenizer, text, pair, max, truncate, where));
        }).ToList();
        return new Prepared(new WorkItem(head, rows), outputs =>
        {
            var answers = outputs.Select(o => Answer(o.Values, function, legacy, topK, config)).ToList();
            // HF answers a single text in a list when top_k was not given, and unwrapped otherwise.
            return single && legacy ? new JsonArray(answers[0]) : Pipelines.PerInput(answers, single);
        });
    }

    /// <summary>transformers 4.37: multi-label or one label → sigmoid; single-label or several labels → softmax.</summary>
    static string Default(Cluster.Model.Configuration.PretrainedConfig config) =>
        config.problem_type == "multi_label_classification" || config.num_labels == 1 ? "sigmoid"
        : config.problem_type == "single_label_classification" || config.num_labels > 1 ? "softmax" : "none";

    static JsonNode Answer(float[] logits, string function, bool legacy, int? topK, Cluster.Model.Configuration.PretrainedConfig config)
    {
        var scores = function switch
        {
            "softmax" => Pipelines.Softmax(logits),
            "sigmoid" => logits.Select(Pipelines.Sigmoid).ToArray(),
            _ => logits,
        };
        if (legacy)
        {
            var best = 0;
            for (var i = 1; i < scores.Length; i++) if (scores[i] > scores[best]) best = i;
            return new JsonObject { ["label"] = Pipelines.Label(config, best), ["score"] = (double)scores[best] };
        }
        var sorted = scores.Select((s, i) => (s, i)).OrderByDescending(x => x.s).Take(topK ?? scores.Length);
        return new JsonArray(sorted.Select(x => (JsonNode)new JsonObject { ["label"] = Pipelines.Label(config, x.i), ["score"] = (double)x.s }).ToArray());
    }
}
