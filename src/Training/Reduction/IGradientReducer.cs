using Cluster.Torch;
using Cluster.Torch.Distributed;

namespace Cluster.Training.Reduction;

/// <summary>Replaces a replica's flat gradient buffer by the sum over all replicas of the step. Blocking, on the
/// thread that owns the device; every replica of the group calls it once per optimizer step.</summary>
public interface IGradientReducer : IDisposable
{
    int Replicas { get; }
    int Rank { get; }
    void SumInPlace(Tensor flat);
    /// <summary>Copies rank 0's tensor into every replica's (the initial weights).</summary>
    void Broadcast(Tensor tensor);
}

/// <summary>The <c>collective</c> backend: a c10d process group (Gloo on CPU tensors, NCCL on CUDA ones).</summary>
public sealed class ProcessGroupReducer(ProcessGroup group, TCPStore? store = null) : IGradientReducer
{
    public int Replicas => group.Size;
    public int Rank => group.Rank;
    public void SumInPlace(Tensor flat) => group.all_reduce(flat);
    public void Broadcast(Tensor tensor) => group.broadcast(tensor, root: 0);

    public void Dispose()
    {
        group.Dispose();
        store?.Dispose();
    }
}

/// <summary>One replica alone: the sum over one is itself.</summary>
public sealed class SingleReplicaReducer : IGradientReducer
{
    public int Replicas => 1;
    public int Rank => 0;
    public void SumInPlace(Tensor flat) { }
    public void Broadcast(Tensor tensor) { }
    public void Dispose() { }
}
