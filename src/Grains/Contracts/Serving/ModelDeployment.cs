namespace Cluster.Grains;

/// <summary>A model to serve, as <c>cluster serve</c> deploys it: the encoder's directory and named heads (paths every
/// silo can read: a shared volume), how many replicas, and the replicas' batching and request limits (0: the default).</summary>
[GenerateSerializer, Immutable, Alias("cluster.ModelDeployment")]
public sealed record ModelDeployment(
    [property: Id(0)] string Name,
    [property: Id(1)] string Directory,
    [property: Id(2)] IReadOnlyList<HeadDeployment> Heads,
    [property: Id(3)] int Replicas)
{
    [Id(4)] public int MaxBatchTokens { get; init; }
    [Id(5)] public int MaxBatchRequests { get; init; }
    [Id(6)] public int MaxQueuedRequests { get; init; }
    [Id(7)] public int MaxBatchDelayMilliseconds { get; init; }
    [Id(8)] public int MaxInputsPerRequest { get; init; }
    [Id(9)] public int MaxInputTokens { get; init; }
    [Id(10)] public bool AutoTruncate { get; init; }

    /// <summary><c>cpu</c> or <c>cuda</c> to place replicas only on devices of that kind; null for any.</summary>
    [Id(11)] public string? DeviceKind { get; init; }

    /// <summary>Makes this the model that TEI's and OpenAI's routes (<c>/embed</c>, <c>/v1/embeddings</c>, …) serve; the
    /// first model deployed is the default until another asks to be.</summary>
    [Id(12)] public bool Default { get; init; }

    /// <summary>Intra-op threads of each replica's thread (0: the silo's cores but one, divided among its devices).</summary>
    [Id(13)] public int Threads { get; init; }
}

[GenerateSerializer, Immutable, Alias("cluster.HeadDeployment")]
public sealed record HeadDeployment([property: Id(0)] string Name, [property: Id(1)] string Directory);

/// <summary>One inference request for a model: the head or task it names and the request body as JSON
/// (<c>{"inputs": …, "parameters": {…}}</c>; tokenization happens on the replica).</summary>
[GenerateSerializer, Immutable, Alias("cluster.InferenceCall")]
public sealed record InferenceCall([property: Id(0)] string Model, [property: Id(1)] string Target, [property: Id(2)] string Body);

/// <summary>The answer as JSON, or the refusal's <c>error_type</c> and message (replies carry errors as data, so the
/// HTTP layer maps them without depending on exception types crossing silos).</summary>
[GenerateSerializer, Immutable, Alias("cluster.InferenceReply")]
public sealed record InferenceReply([property: Id(0)] string? Json, [property: Id(1)] string? ErrorType = null, [property: Id(2)] string? Error = null)
{
    /// <summary>The replica that answered (its grain key); set by the router.</summary>
    [Id(3)] public string? Replica { get; init; }

    public bool Ok => ErrorType is null;
}

/// <summary>A deployed model as the cluster sees it now.</summary>
[GenerateSerializer, Immutable, Alias("cluster.ModelStatus")]
public sealed record ModelStatus(
    [property: Id(0)] string Name,
    [property: Id(1)] string Directory,
    [property: Id(2)] IReadOnlyList<ServedHead> Heads,
    [property: Id(3)] IReadOnlyList<ReplicaStatus> Replicas,
    [property: Id(4)] int WantedReplicas);

[GenerateSerializer, Immutable, Alias("cluster.ServedHead")]
public sealed record ServedHead([property: Id(0)] string Name, [property: Id(1)] string Task, [property: Id(2)] bool SharesEncoder, [property: Id(3)] IReadOnlyList<string> Labels);

/// <summary>A replica: its grain key, where it runs, whether it answers, how many requests wait in its queue, and how
/// fast it answered its recent ones.</summary>
[GenerateSerializer, Immutable, Alias("cluster.ReplicaStatus")]
public sealed record ReplicaStatus(
    [property: Id(0)] string Key,
    [property: Id(1)] string Silo,
    [property: Id(2)] string SiloName,
    [property: Id(3)] string Device,
    [property: Id(4)] bool Ready,
    [property: Id(5)] int QueueDepth,
    [property: Id(6)] string? Error = null)
{
    [Id(7)] public ReplicaLatency? Latency { get; init; }
}

/// <summary>What a loaded replica serves, and its recent latency (null before its first answer).</summary>
[GenerateSerializer, Immutable, Alias("cluster.ReplicaInfo")]
public sealed record ReplicaInfo([property: Id(0)] IReadOnlyList<ServedHead> Heads, [property: Id(1)] int QueueDepth)
{
    [Id(2)] public ReplicaLatency? Latency { get; init; }
}

/// <summary>Requests a replica answered since it loaded, and the p50/p99 seconds of its last 2,048.</summary>
[GenerateSerializer, Immutable, Alias("cluster.ReplicaLatency")]
public sealed record ReplicaLatency([property: Id(0)] long Requests, [property: Id(1)] double P50Seconds, [property: Id(2)] double P99Seconds);

/// <summary>A deployment that cannot be placed or loaded; the message names the model and the cause.</summary>
[GenerateSerializer, Alias("cluster.DeploymentException")]
public sealed class DeploymentException(string message) : Exception(message);
