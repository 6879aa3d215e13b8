namespace Cluster.Serving.Batching;

/// <summary>How a replica's queue batches (TEI's knobs under its names where it has one).</summary>
public sealed record BatchingOptions
{
    /// <summary>A batch's budget in padded tokens (rows × longest row), TEI's <c>max_batch_tokens</c>. A single request
    /// larger than the budget still runs, alone.</summary>
    public int MaxBatchTokens { get; init; } = 16384;

    /// <summary>At most this many requests in one batch (TEI's <c>max_batch_requests</c>).</summary>
    public int MaxBatchRequests { get; init; } = 64;

    /// <summary>Requests waiting beyond this are refused at once as overloaded (TEI's <c>max_concurrent_requests</c>).</summary>
    public int MaxQueuedRequests { get; init; } = 512;

    /// <summary>How long the queue waits for more requests before running a batch that is not full; none by default.</summary>
    public TimeSpan MaxBatchDelay { get; init; } = TimeSpan.Zero;

    /// <summary>A request joins a batch only if the batch's real tokens stay at least this share of its padded tokens:
    /// short requests are not padded to a long one's length (they go in the next batch, with their kind).</summary>
    public double MinBatchFill { get; init; } = 0.75;

    /// <summary>Intra-op threads of the replica's thread; null leaves libtorch's default.</summary>
    public int? Threads { get; init; }

    public void Validate()
    {
        if (MaxBatchTokens < 1) throw new ArgumentException($"max batch tokens must be at least 1, got {MaxBatchTokens}");
        if (MaxBatchRequests < 1) throw new ArgumentException($"max batch requests must be at least 1, got {MaxBatchRequests}");
        if (MaxQueuedRequests < 1) throw new ArgumentException($"max queued requests must be at least 1, got {MaxQueuedRequests}");
        if (MaxBatchDelay < TimeSpan.Zero) throw new ArgumentException("max batch delay cannot be negative");
        if (MinBatchFill is < 0 or > 1 || double.IsNaN(MinBatchFill)) throw new ArgumentException($"min batch fill must be within [0, 1], got {MinBatchFill}");
    }
}
