using Cluster.Torch.Native;

namespace Cluster.Torch.Distributed;

/// <summary>
/// Hooks on the parameters' gradient accumulators (DDP's Reducer does the same) that copy each parameter's finished
/// gradient into its slot of a flat buffer during backward and tell when a whole bucket of slots is in, so that a
/// second thread can reduce bucket after bucket while backward still computes the rest. The hooks act only between
/// <see cref="Arm"/> and <see cref="Finish"/> (or <see cref="Abort"/>): backward passes outside that window accumulate
/// as usual.
/// </summary>
public sealed class GradientBuckets : IDisposable
{
    IntPtr handle;

    /// <param name="parameters">leaf tensors that require grad, in the flat buffer's dtype and on its device</param>
    /// <param name="offsets">where each parameter's slot starts in <paramref name="flat"/></param>
    /// <param name="bucketOf">each parameter's bucket, 0 ≤ b &lt; <paramref name="buckets"/></param>
    /// <param name="flat">a contiguous 1-D buffer the caller owns and keeps alive</param>
    public unsafe GradientBuckets(IReadOnlyList<Tensor> parameters, long[] offsets, int[] bucketOf, int buckets, Tensor flat)
    {
        if (offsets.Length != parameters.Count || bucketOf.Length != parameters.Count)
            throw new ArgumentException($"{parameters.Count} parameters need as many offsets and buckets, got {offsets.Length} and {bucketOf.Length}");
        var handles = torch.HandlesOf(parameters);
        fixed (IntPtr* p = handles)
        fixed (long* o = offsets)
        fixed (int* b = bucketOf)
            handle = TorchException.Check(LibTorch.ct_grad_buckets_new(p, handles.Length, o, b, buckets, flat.Handle));
        GC.KeepAlive(parameters);
        Buckets = buckets;
    }

    public int Buckets { get; }

    IntPtr Handle => handle == IntPtr.Zero ? throw new ObjectDisposedException(nameof(GradientBuckets)) : handle;

    /// <summary>The next backward copies and counts; every bucket waits again.</summary>
    public void Arm() => TorchException.Check(LibTorch.ct_grad_buckets_arm(Handle));

    /// <summary>After backward: copies what no hook copied (a parameter the backward did not reach keeps the gradient
    /// it had, or gets zeros), so that every bucket is ready, and disarms.</summary>
    public void Finish() => TorchException.Check(LibTorch.ct_grad_buckets_finish(Handle));

    /// <summary>Backward failed: waiters return false and the round ends.</summary>
    public void Abort() => TorchException.Check(LibTorch.ct_grad_buckets_abort(Handle));

    /// <summary>Blocks until <paramref name="bucket"/>'s slots hold their gradients (true) or the round was aborted
    /// (false); throws when <paramref name="timeout"/> (by default none) passes first.</summary>
    public bool WaitReady(int bucket, TimeSpan? timeout = null)
        => TorchException.Check(LibTorch.ct_grad_buckets_wait(Handle, bucket, timeout is { } t ? (long)t.TotalMilliseconds : -1)) == 1;

    public void Dispose()
    {
        if (handle == IntPtr.Zero) return;
        LibTorch.ct_grad_buckets_free(handle);
        handle = IntPtr.Zero;
    }
}
