using System.Diagnostics;
using Cluster.Serving.Replica;
using Cluster.Torch;

namespace Cluster.Serving.Batching;

/// <summary>
/// A bounded queue in front of one replica and the one thread that owns it: the thread loads the replica, then takes
/// what is queued (the oldest request first, then those closest to its length, while the batch stays within the token
/// and request budgets), runs it as one batch and answers each request. A full queue refuses at once
/// (<see cref="OverloadedException"/>); nothing waits without bound.
/// </summary>
public sealed class ReplicaQueue : IDisposable
{
    readonly BatchingOptions _options;
    readonly List<Pending> _queue = [];
    readonly object _gate = new();
    readonly Thread _thread;
    readonly TaskCompletionSource<ModelReplica> _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    bool _stopping;
    int _held;

    sealed record Pending(WorkItem Item, TaskCompletionSource<IReadOnlyList<RowOutput>> Done, long Enqueued, int Length)
    {
        /// <summary>Unpadded tokens of the request's rows.</summary>
        public long Tokens { get; } = Item.Rows.Sum(r => (long)r.Length);
    }

    public ReplicaQueue(string name, Func<ModelReplica> load, BatchingOptions options)
    {
        options.Validate();
        (Name, _options) = (name, options);
        _thread = new Thread(() => Loop(load)) { IsBackground = true, Name = $"replica {name}" };
        _thread.Start();
    }

    public string Name { get; }

    /// <summary>The replica, once its thread loaded it; faults with the load's error.</summary>
    public Task<ModelReplica> Loaded => _loaded.Task;

    public int Depth { get { lock (_gate) return _queue.Count; } }

    public long Batches { get; private set; }

    /// <summary>Queues one request's rows; the task completes with its outputs when its batch has run.</summary>
    public Task<IReadOnlyList<RowOutput>> EnqueueAsync(WorkItem item)
    {
        var pending = new Pending(item, new(TaskCreationOptions.RunContinuationsAsynchronously), Stopwatch.GetTimestamp(),
            item.Rows.Count == 0 ? 0 : item.Rows.Max(r => r.Length));
        lock (_gate)
        {
            if (_stopping) throw new ReplicaUnavailableException($"replica {Name} is shutting down");
            if (_queue.Count >= _options.MaxQueuedRequests)
                throw new OverloadedException($"replica {Name} has {_queue.Count} requests queued, its limit: retry later");
            _queue.Add(pending);
            Monitor.Pulse(_gate);
        }
        ServingMetrics.QueueDepth(Name, +1);
        return pending.Done.Task;
    }

    void Loop(Func<ModelReplica> load)
    {
        if (_options.Threads is { } threads) torch.set_num_threads(threads);
        ModelReplica replica;
        try { replica = load(); }
        catch (Exception e)
        {
            _loaded.SetException(e);
            FailAll(new ReplicaUnavailableException($"replica {Name} failed to load: {e.Message}"));
            return;
        }
        _loaded.SetResult(replica);
        try
        {
            while (Take() is { } batch)
            {
                ServingMetrics.QueueDepth(Name, -batch.Count);
                var started = Stopwatch.GetTimestamp();
                foreach (var p in batch) ServingMetrics.QueueTime.Record(Stopwatch.GetElapsedTime(p.Enqueued, started).TotalSeconds);
                try
                {
                    var outputs = replica.Run(batch.Select(p => p.Item).ToList());
                    Batches++;
                    ServingMetrics.InferenceTime.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
                    ServingMetrics.BatchRows.Record(batch.Sum(p => p.Item.Rows.Count));
                    ServingMetrics.BatchTokens.Record(batch.Max(p => p.Length) * batch.Sum(p => p.Item.Rows.Count));
                    for (var i = 0; i < batch.Count; i++) batch[i].Done.SetResult(outputs[i]);
                }
                catch (Exception e)
                {
                    foreach (var p in batch) p.Done.TrySetException(e);
                }
            }
        }
        finally { replica.Dispose(); }
    }

    /// <summary>The next batch, or null once stopping and empty.</summary>
    List<Pending>? Take()
    {
        lock (_gate)
        {
            while (_queue.Count == 0 || _held > 0 && !_stopping)
            {
                if (_stopping) return null;
                Monitor.Wait(_gate);
            }
            if (_options.MaxBatchDelay > TimeSpan.Zero && !_stopping && PaddedTokens(_queue) < _options.MaxBatchTokens)
                Monitor.Wait(_gate, _options.MaxBatchDelay);
            var first = _queue[0];
            var batch = new List<Pending> { first };
            var (rows, longest, real) = (first.Item.Rows.Count, first.Length, first.Tokens);
            // Closest in length to the oldest first (the oldest always goes), each only while the batch stays within
            // the token budget and mostly real tokens, not padding.
            foreach (var next in _queue.Skip(1).OrderBy(p => Math.Abs(p.Length - first.Length)))
            {
                if (batch.Count >= _options.MaxBatchRequests) break;
                var padded = (long)Math.Max(longest, next.Length) * (rows + next.Item.Rows.Count);
                if (padded > _options.MaxBatchTokens || real + next.Tokens < _options.MinBatchFill * padded) continue;
                batch.Add(next);
                (rows, longest, real) = (rows + next.Item.Rows.Count, Math.Max(longest, next.Length), real + next.Tokens);
            }
            foreach (var p in batch) _queue.Remove(p);
            return batch;
        }
    }

    /// <summary>Keeps the thread from taking a batch until disposed, so that what is queued meanwhile is batched
    /// together (tests; a drain before maintenance).</summary>
    public IDisposable Hold()
    {
        lock (_gate) _held++;
        return new Release(this);
    }

    sealed class Release(ReplicaQueue queue) : IDisposable
    {
        int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 1) return;
            lock (queue._gate)
            {
                queue._held--;
                Monitor.PulseAll(queue._gate);
            }
        }
    }

    static long PaddedTokens(List<Pending> queue) => (long)queue.Max(p => p.Length) * queue.Sum(p => p.Item.Rows.Count);

    void FailAll(Exception e)
    {
        lock (_gate)
        {
            _stopping = true;
            foreach (var p in _queue) p.Done.TrySetException(e);
            ServingMetrics.QueueDepth(Name, -_queue.Count);
            _queue.Clear();
        }
    }

    /// <summary>Answers what is queued, then stops the thread and frees the replica.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        if (Thread.CurrentThread != _thread) _thread.Join();
    }
}
