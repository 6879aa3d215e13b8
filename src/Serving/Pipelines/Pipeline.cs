using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Serving.Replica;

namespace Cluster.Serving.Pipelines;

/// <summary>A request turned into rows for one head, and how the head's row outputs become the answer.</summary>
public sealed record Prepared(WorkItem Item, Func<IReadOnlyList<RowOutput>, JsonNode?> Finish);

/// <summary>One task's pre- and post-processing, in the conventions of Hugging Face's pipeline for it.</summary>
public interface IPipeline
{
    Prepared Prepare(JsonElement inputs, RequestParameters parameters, ReplicaHead head, ServingLimits limits);
}

public static class Pipelines
{
    public static IPipeline For(ServingTask task) => task switch
    {
        ServingTask.FillMask => new FillMaskPipeline(),
        ServingTask.SequenceClassification => new TextClassificationPipeline(),
        ServingTask.TokenClassification => new TokenClassificationPipeline(),
        ServingTask.QuestionAnswering => new QuestionAnsweringPipeline(),
        ServingTask.MultipleChoice => new MultipleChoicePipeline(),
        ServingTask.Embed => new EmbeddingPipeline(),
        _ => throw new ArgumentOutOfRangeException(nameof(task)),
    };

    /// <summary>One answer per input, unwrapped when the request sent a single one (as the pipelines answer).</summary>
    internal static JsonNode? PerInput(IReadOnlyList<JsonNode?> answers, bool single) => single ? answers[0] : new JsonArray(answers.ToArray());

    /// <summary>numpy's softmax as the pipelines write it: exp(x - max) / sum, in float32.</summary>
    internal static float[] Softmax(ReadOnlySpan<float> logits)
    {
        var max = float.NegativeInfinity;
        foreach (var x in logits) max = Math.Max(max, x);
        var e = new float[logits.Length];
        var sum = 0f;
        for (var i = 0; i < logits.Length; i++) sum += e[i] = MathF.Exp(logits[i] - max);
        for (var i = 0; i < e.Length; i++) e[i] /= sum;
        return e;
    }

    internal static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    internal static string Label(Cluster.Model.Configuration.PretrainedConfig config, int index) =>
        config.id2label.TryGetValue(index.ToString(System.Globalization.CultureInfo.InvariantCulture), out var label) ? label : $"LABEL_{index}";
}
