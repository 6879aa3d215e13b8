using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Cluster.Torch;
using Cluster.Torch.Distributed;

namespace Cluster.Training.Reduction;

/// <summary>How long a step's gradient reduction took (the sum of its rounds) and how much of that the step waited
/// for after its last backward; the rest was hidden behind backward.</summary>
public readonly record struct ReductionTiming(double Seconds, double ExposedSeconds)
{
    public static ReductionTiming Unhidden(double seconds) => new(seconds, seconds);
}

/// <summary>
/// The gradient all-reduce overlapped with backward, as DDP does it. The parameters are cut into buckets in reverse
/// order (backward finishes the last layers first): the first bucket is small, so communication starts early
/// (DDP's 1 MB), the rest about <c>bucketMegabytes</c> each (DDP's <c>bucket_cap_mb</c>, 25). Hooks on the
/// gradient accumulators copy each finished gradient into <see cref="Flat"/>; a communication thread of its own
/// reduces bucket after bucket, in the same order on every replica, while backward computes the rest.
///
/// <see cref="Flat"/> has the same layout as an unbucketed step's buffer (the parameters in order, then the
/// caller's tail, which rides in the first bucket and must be written before <see cref="Begin"/>), and each
/// element is summed over the same replicas, so the step is the same. Begin, Complete and Abandon run on the
/// thread that owns the device.
/// </summary>
public sealed class BucketedReduction : IDisposable
{
    public const double DefaultBucketMegabytes = 25;
    const double FirstBucketMegabytes = 1;

    readonly IGradientReducer _reducer;
    readonly GradientBuckets _hooks;
    readonly Tensor[] _buckets;
    readonly Thread _thread;
    readonly SemaphoreSlim _start = new(0);
    readonly ManualResetEventSlim _done = new(false);
    bool _running, _stopping;
    Exception? _error;
    double _busySeconds;

    /// <param name="parameters">the trainable parameters, in the order of the flat layout</param>
    /// <param name="flatElements">the flat buffer's length: the parameters' elements, then the caller's tail</param>
    public BucketedReduction(IReadOnlyList<Tensor> parameters, long flatElements, IGradientReducer reducer, double bucketMegabytes, Device device)
    {
        if (bucketMegabytes <= 0) throw new ArgumentOutOfRangeException(nameof(bucketMegabytes), bucketMegabytes, "a bucket needs a positive size");
        _reducer = reducer;
        var (offsets, bucketOf, starts) = Layout(parameters.Select(p => p.numel()).ToArray(), bucketMegabytes);
        if (offsets.Length > 0 && offsets[^1] + parameters[^1].numel() > flatElements)
            throw new ArgumentException($"the parameters need more than the flat buffer's {flatElements} elements");
        Flat = torch.zeros([flatElements], ScalarType.Float32, device).DetachFromDisposeScope();
        try
        {
            // Bucket b covers [starts[b], end of bucket b-1); bucket 0 runs to the end, over the tail.
            _buckets = starts.Select((start, b) => Flat.narrow(0, start, (b == 0 ? flatElements : starts[b - 1]) - start).DetachFromDisposeScope()).ToArray();
            _hooks = new GradientBuckets(parameters, offsets, bucketOf, starts.Length, Flat);
        }
        catch
        {
            foreach (var view in _buckets ?? []) view.Dispose();
            Flat.Dispose();
            throw;
        }
        _thread = new Thread(Communicate) { IsBackground = true, Name = "gradient buckets" };
        _thread.Start();
    }

    /// <summary>The step's buffer: after <see cref="Complete"/>, every replica's sum.</summary>
    public Tensor Flat { get; }
    public int Buckets => _buckets.Length;
    /// <summary>Each bucket's elements, first reduced first.</summary>
    public IEnumerable<long> BucketSizes => _buckets.Select(b => b.numel());

    /// <summary>Each parameter's offset in the flat layout, its bucket, and each bucket's first element: parameters
    /// are taken from the last, into a bucket until it holds its share of bytes (float32).</summary>
    static (long[] Offsets, int[] BucketOf, long[] Starts) Layout(long[] sizes, double bucketMegabytes)
    {
        var offsets = new long[sizes.Length];
        for (var i = 1; i < sizes.Length; i++) offsets[i] = offsets[i - 1] + sizes[i - 1];
        var bucketOf = new int[sizes.Length];
        var starts = new List<long>();
        long filled = 0;
        for (var i = sizes.Length - 1; i >= 0; i--)
        {
            var cap = (starts.Count <= 1 ? Math.Min(FirstBucketMegabytes, bucketMegabytes) : bucketMegabytes) * (1 << 20);
            if (starts.Count == 0 || filled * sizeof(float) >= cap)
            {
                starts.Add(offsets[i]);
                filled = 0;
            }
            starts[^1] = offsets[i];
            bucketOf[i] = starts.Count - 1;
            filled += sizes[i];
        }
        return (offsets, bucketOf, starts.ToArray());
    }

    /// <summary>Arms the hooks and starts the round; call after the last micro-batch's forward, before its backward,
    /// with the tail of <see cref="Flat"/> already written.</summary>
    public void Begin()
    {
        if (_running) throw new InvalidOperationException("a reduction round is already running");
        _hooks.Arm();
        (_error, _busySeconds, _running) = (null, 0, true);
        _done.Reset();
        _start.Release();
    }

    /// <summary>After backward: waits for the last bucket's reduction and says how long it took.</summary>
    public ReductionTiming Complete()
    {
        if (!_running) throw new InvalidOperationException("no reduction round is running");
        try { _hooks.Finish(); }   // copies what backward did not reach, as an unbucketed step packs it: not waiting
        catch
        {
            Abandon();
            throw;
        }
        var watch = Stopwatch.StartNew();
        _done.Wait();
        _running = false;
        if (_error is not null) ExceptionDispatchInfo.Throw(_error);
        return new ReductionTiming(_busySeconds, watch.Elapsed.TotalSeconds);
    }

    /// <summary>Backward failed: the communication thread stops at its next bucket (its peers' collectives then time
    /// out, as they would for any rank that stops).</summary>
    public void Abandon()
    {
        if (!_running) return;
        _hooks.Abort();
        _done.Wait();
        _running = false;
    }

    void Communicate()
    {
        while (true)
        {
            _start.Wait();
            if (_stopping) return;
            try
            {
                for (var b = 0; b < _buckets.Length; b++)
                {
                    if (!_hooks.WaitReady(b)) break;   // the device thread ends every round: Complete or Abandon
                    var watch = Stopwatch.StartNew();
                    _reducer.SumInPlace(_buckets[b]);
                    _busySeconds += watch.Elapsed.TotalSeconds;
                }
            }
            catch (Exception e) { _error = e; }
            _done.Set();
        }
    }

    public void Dispose()
    {
        if (_stopping) return;
        Abandon();
        _stopping = true;
        _start.Release();
        _thread.Join();
        _hooks.Dispose();
        foreach (var view in _buckets) view.Dispose();
        Flat.Dispose();
        _start.Dispose();
        _done.Dispose();
    }
}
