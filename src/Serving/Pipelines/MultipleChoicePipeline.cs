using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Serving.Replica;

namespace Cluster.Serving.Pipelines;

/// <summary>Multiple choice (HF has no pipeline for it; this follows run_swag's encoding): each choice is paired with
/// the prompt, scored by the head, and the answer is the best choice's index (<c>label</c>), its text, and the
/// softmax over the choices (<c>scores</c>). An input is <c>{"prompt", "choices": [...]}</c>.</summary>
internal sealed class MultipleChoicePipeline : IPipeline
{
    public Prepared Prepare(JsonElement inputs, RequestParameters parameters, ReplicaHead head, ServingLimits limits)
    {
        var truncate = parameters.Bool("truncate", limits.AutoTruncate);
        parameters.RejectUnknown("multiple-choice");
        var (items, single) = RequestInputs.Items(inputs, limits, e => e.ValueKind == JsonValueKind.Object, "{\"prompt\", \"choices\"}");
        var max = limits.TokensFor(head.Config);
        var examples = items.Select((item, i) =>
        {
            var where = RequestInputs.Where(i, single);
            var prompt = RequestInputs.Field(item, "prompt", where);
            if (!item.TryGetProperty("choices", out var c) || c.ValueKind != JsonValueKind.Array || c.GetArrayLength() < 2
                || c.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
                throw new InvalidRequestException($"{where}.choices: expected an array of at least two strings");
            var choices = c.EnumerateArray().Select(x => x.GetString()!).ToList();
            if (choices.Count > limits.MaxInputsPerRequest)
                throw new RequestTooLargeException($"{where}.choices: {choices.Count} choices, more than the limit of {limits.MaxInputsPerRequest}");
            return choices.Select((choice, j) => RequestInputs.Row(RequestInputs.Encode(head.Tokenizer, prompt, choice, max, truncate, $"{where}.choices[{j}]"))).ToList();
        }).ToList();
        var rows = examples.SelectMany(e => e).ToList();
        return new Prepared(new WorkItem(head, rows), outputs =>
        {
            var next = 0;
            var answers = new List<JsonNode?>();
            for (var i = 0; i < examples.Count; i++)
            {
                var scores = Pipelines.Softmax(outputs.Skip(next).Take(examples[i].Count).Select(o => o.Values[0]).ToArray());
                next += examples[i].Count;
                var best = 0;
                for (var j = 1; j < scores.Length; j++) if (scores[j] > scores[best]) best = j;
                answers.Add(new JsonObject
                {
                    ["label"] = best,
                    ["choice"] = items[i].GetProperty("choices")[best].GetString(),
                    ["scores"] = new JsonArray(scores.Select(s => (JsonNode)(double)s).ToArray()),
                });
            }
            return Pipelines.PerInput(answers, single);
        });
    }
}
