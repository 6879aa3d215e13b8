using Cluster.Torch.Native;

namespace Cluster.Torch.Distributed;

public enum Backend { Gloo = 0, Nccl = 1 }

public enum ReduceOp { Sum, Average }

/// <summary>
/// A c10d process group of <see cref="Size"/> ranks: Gloo over TCP for CPU tensors, NCCL for CUDA
/// tensors where the libtorch has it. Collectives are blocking and work in place.
/// </summary>
public sealed class ProcessGroup : IDisposable
{
    private IntPtr handle;

    private ProcessGroup(IntPtr handle, Backend backend, int rank, int size) =>
        (this.handle, Backend, Rank, Size) = (handle, backend, rank, size);

    public Backend Backend { get; }
    public int Rank { get; }
    public int Size { get; }

    public static bool IsAvailable(Backend backend) => LibTorch.ct_has_distributed((int)backend) == 1;

    /// <summary>
    /// Joins a group; blocks until all <paramref name="size"/> ranks have joined through the store,
    /// or fails after <paramref name="timeout"/>. <paramref name="hostname"/> is the address this
    /// rank's Gloo transport binds and advertises.
    /// </summary>
    public static ProcessGroup Create(Backend backend, TCPStore store, int rank, int size, string hostname = "127.0.0.1",
        TimeSpan? timeout = null)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "a group needs at least one rank");
        if (rank < 0 || rank >= size) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {size})");
        var ms = (long)(timeout ?? TimeSpan.FromSeconds(300)).TotalMilliseconds;
        var h = TorchException.Check(LibTorch.ct_group_new((int)backend, store.Handle, rank, size, hostname, ms));
        return new ProcessGroup(h, backend, rank, size);
    }

    private IntPtr Handle => handle == IntPtr.Zero ? throw new ObjectDisposedException(nameof(ProcessGroup)) : handle;

    /// <summary>Replaces <paramref name="tensor"/> on every rank by the sum (or mean) over ranks.</summary>
    public void all_reduce(Tensor tensor, ReduceOp op = ReduceOp.Sum) =>
        TorchException.Check(LibTorch.ct_group_all_reduce(Handle, tensor.Handle, op == ReduceOp.Average ? 1 : 0));

    /// <summary>Copies rank <paramref name="root"/>'s tensor into every other rank's.</summary>
    public void broadcast(Tensor tensor, int root = 0)
    {
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"root must be in [0, {Size})");
        TorchException.Check(LibTorch.ct_group_broadcast(Handle, tensor.Handle, root));
    }

    /// <summary>Every rank's tensor, in rank order.</summary>
    public unsafe Tensor[] all_gather(Tensor tensor)
    {
        var outputs = new Tensor[Size];
        for (int i = 0; i < Size; i++) outputs[i] = torch.empty(tensor.shape, tensor.dtype, tensor.device);
        var handles = torch.HandlesOf(outputs);
        fixed (IntPtr* p = handles)
            TorchException.Check(LibTorch.ct_group_all_gather(Handle, tensor.Handle, p, handles.Length));
        GC.KeepAlive(outputs);
        return outputs;
    }

    public void barrier() => TorchException.Check(LibTorch.ct_group_barrier(Handle));

    public void Dispose()
    {
        if (handle == IntPtr.Zero) return;
        LibTorch.ct_group_free(handle);
        handle = IntPtr.Zero;
    }
}
