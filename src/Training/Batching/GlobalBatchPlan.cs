using Cluster.Training.Masking;

namespace Cluster.Training.Batching;

/// <summary>Which examples each optimizer step trains on. The examples are read in epochs, each a permutation of
/// [0, <see cref="Examples"/>) seeded by (seed, epoch); step s takes positions [s·G, (s+1)·G) of that stream, G the
/// global batch. A function of (seed, step) alone: how many workers share a step, and how each splits its share into
/// accumulation micro-batches, changes who computes what, never what the step is.</summary>
public sealed class GlobalBatchPlan
{
    readonly object _gate = new();
    long _permutedEpoch = -1;
    long[] _permutation = [];

    public GlobalBatchPlan(long examples, int globalBatch, ulong seed)
    {
        if (examples < 1) throw new ArgumentOutOfRangeException(nameof(examples), examples, "the corpus gives no example");
        if (globalBatch < 1) throw new ArgumentOutOfRangeException(nameof(globalBatch), globalBatch, "the global batch must hold an example");
        (Examples, GlobalBatch, Seed) = (examples, globalBatch, seed);
    }

    public long Examples { get; }
    public int GlobalBatch { get; }
    public ulong Seed { get; }

    /// <summary>The (epoch, example) at <paramref name="position"/> of the stream.</summary>
    public (long Epoch, long Example) At(long position)
    {
        var epoch = position / Examples;
        lock (_gate)
        {
            if (epoch != _permutedEpoch) (_permutation, _permutedEpoch) = (Permutation(epoch), epoch);
            return (epoch, _permutation[position % Examples]);
        }
    }

    /// <summary>A worker's micro-batch: <paramref name="batch"/> examples of step <paramref name="step"/>. Micro-batch
    /// k of worker w of W covers positions ((k·W + w)·B, …) of the step, so every split of G = W·K·B covers it once.</summary>
    public (long Epoch, long Example)[] MicroBatch(long step, int worker, int workers, int micro, int batch)
    {
        if (workers < 1 || worker < 0 || worker >= workers) throw new ArgumentOutOfRangeException(nameof(worker));
        var start = step * GlobalBatch + ((long)micro * workers + worker) * batch;
        if ((micro + 1L) * workers * batch > GlobalBatch) throw new ArgumentOutOfRangeException(nameof(micro), micro, "past the end of the global batch");
        return Enumerable.Range(0, batch).Select(i => At(start + i)).ToArray();
    }

    /// <summary>Fisher–Yates with counter-based draws: the same on every worker.</summary>
    long[] Permutation(long epoch)
    {
        var p = new long[Examples];
        for (long i = 0; i < p.Length; i++) p[i] = i;
        for (var i = p.Length - 1; i > 0; i--)
        {
            var j = (long)(CounterRandom.Hash(Seed, (ulong)epoch, 0x5348554646UL, (ulong)i) % (ulong)(i + 1));
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }
}
