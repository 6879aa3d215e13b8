using System.Diagnostics;
using System.Text.Json;
using Cluster.Serving.Batching;
using Cluster.Serving.Pipelines;
using Cluster.Serving.Replica;
using Cluster.Torch;

namespace Cluster.Serving;

/// <summary>A served replica: its queue (and the thread that owns the model) and the task pipelines around it.
/// <see cref="InferAsync"/> reads a request (<c>{"inputs": …, "parameters": {…}}</c>), tokenizes it on the caller's
/// thread, queues its rows and turns the head's outputs into the pipeline's JSON answer.</summary>
public sealed class ModelServer : IDisposable
{
    readonly ReplicaQueue _queue;

    ModelServer(ReplicaQueue queue, ModelReplica replica, ServingLimits limits) => (_queue, Replica, Limits) = (queue, replica, limits);

    public ModelReplica Replica { get; }
    public ServingLimits Limits { get; }
    public int QueueDepth => _queue.Depth;
    public long Batches => _queue.Batches;

    /// <summary>How long this replica took to answer its recent requests, from parsing to the answer's JSON.</summary>
    public LatencyWindow Latency { get; } = new();

    /// <summary>See <see cref="ReplicaQueue.Hold"/>.</summary>
    public IDisposable HoldBatches() => _queue.Hold();

    /// <summary>Starts the replica's thread and loads the model on it; throws the load's error.</summary>
    public static async Task<ModelServer> StartAsync(ModelDefinition definition, Device device, string replicaName,
        BatchingOptions? batching = null, ServingLimits? limits = null, ScalarType? dtype = null)
    {
        ModelDefinition.ValidateName(definition.Name, "model");
        var queue = new ReplicaQueue(replicaName, () => ModelReplica.Load(definition, device, dtype), batching ?? new BatchingOptions());
        try { return new ModelServer(queue, await queue.Loaded, limits ?? new ServingLimits()); }
        catch
        {
            queue.Dispose();
            throw;
        }
    }

    /// <summary>The heads and the tasks they answer (a task name reaches the one head of that task).</summary>
    public IReadOnlyList<HeadDescription> Heads => Replica.Heads
        .Select(h => new HeadDescription(h.Name, h.Task.Name(), h.SharesEncoder,
            h.Task is ServingTask.SequenceClassification or ServingTask.TokenClassification
                ? Enumerable.Range(0, h.Config.num_labels).Select(i => Pipelines.Pipelines.Label(h.Config, i)).ToList() : []))
        .ToList();

    /// <summary>A head by name, or by task when exactly one head answers it.</summary>
    public ReplicaHead Resolve(string target)
    {
        if (Replica.Find(target) is { } named) return named;
        if (ServingTasks.TryParse(target, out var task))
        {
            var matching = Replica.Heads.Where(h => h.Task == task).ToList();
            if (matching.Count == 1) return matching[0];
            if (matching.Count > 1)
                throw new UnknownHeadException($"model {Replica.Name} has {matching.Count} {task.Name()} heads ({string.Join(", ", matching.Select(h => h.Name))}): name one");
            throw new UnknownHeadException($"model {Replica.Name} has no {task.Name()} head (heads: {Describe()})");
        }
        throw new UnknownHeadException($"model {Replica.Name} has no head or task '{target}' (heads: {Describe()})");
    }

    string Describe() => string.Join(", ", Replica.Heads.Select(h => h.Name == h.Task.Name() ? h.Name : $"{h.Name} ({h.Task.Name()})"));

    /// <summary>The pseudo-task that answers the tokens of each input (TEI's <c>/tokenize</c>) without the model.</summary>
    public const string TokenizeTarget = "tokenize";

    public async Task<string> InferAsync(string target, string requestJson)
    {
        if (target == TokenizeTarget)
        {
            using var tokenize = Parse(requestJson);
            return TokenizePipeline.Answer(tokenize.RootElement, Replica.Tokenizer, Limits).ToJsonString();
        }
        var head = Resolve(target);
        var started = Stopwatch.GetTimestamp();
        // The pipelines' answers read the request's elements again: the document lives until the answer is made.
        using var request = Parse(requestJson);
        var root = request.RootElement;
        var inputs = root.TryGetProperty("inputs", out var i) ? i : default;
        JsonElement? parameters = root.TryGetProperty("parameters", out var p) ? p : null;
        var unknown = root.EnumerateObject().Select(x => x.Name).FirstOrDefault(n => n is not ("inputs" or "parameters"));
        if (unknown is not null) throw new InvalidRequestException($"{unknown}: unknown field (a request has inputs and parameters)");
        var prepared = Pipelines.Pipelines.For(head.Task).Prepare(inputs, new RequestParameters(parameters), head, Limits);
        ServingMetrics.TokenizeTime.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        var outputs = await _queue.EnqueueAsync(prepared.Item);
        var answer = prepared.Finish(outputs)?.ToJsonString(Answers) ?? "null";
        Latency.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        return answer;
    }

    /// <summary>A model with NaN or infinite outputs (diverged weights) still answers: JSON has no such numbers, so they
    /// are written as the strings "NaN", "Infinity", "-Infinity" rather than failing the request with a .NET message.</summary>
    static readonly JsonSerializerOptions Answers = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    static JsonDocument Parse(string json)
    {
        try
        {
            var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind == JsonValueKind.Object) return document;
            document.Dispose();
            throw new InvalidRequestException("the request body must be a JSON object with inputs (and parameters)");
        }
        catch (JsonException e) { throw new InvalidRequestException($"the request body is not valid JSON: {e.Message}"); }
    }

    public void Dispose()
    {
        _queue.Dispose();
        ServingMetrics.Forget(_queue.Name);
    }
}

public sealed record HeadDescription(string Name, string Task, bool SharesEncoder, IReadOnlyList<string> Labels);
