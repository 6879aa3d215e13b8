using Cluster.Torch;
using Cluster.Torch.Distributed;
using Cluster.Training.Reduction;

namespace Cluster.Training;

/// <summary>What every worker of a data-parallel job needs to know, whatever it trains. (Not <c>required</c>: a host
/// sets them once, on whichever kind of options it made, with a <c>with</c> expression.)</summary>
public abstract record GroupOptions
{
    public string Job { get; init; } = "job";
    public string OutputDirectory { get; init; } = "";
    public OptimizerSettings Optimizer { get; init; } = null!;
    public ulong Seed { get; init; }
    public WorkerLayout Layout { get; init; } = new(0, 1, 1, 1);
    /// <summary>The coordinator's c10d TCPStore; every rank connects to it as a client.</summary>
    public string StoreHost { get; init; } = "127.0.0.1";
    public int StorePort { get; init; }
    /// <summary>The address this worker's Gloo transport binds and the others reach it at.</summary>
    public string BindHost { get; init; } = "127.0.0.1";
    public Device Device { get; init; } = Device.CPU;
    /// <summary>How long a collective (or the group's forming) waits for a missing rank before it fails.</summary>
    public TimeSpan CollectiveTimeout { get; init; } = TimeSpan.FromMinutes(2);
    public string? Checkpoint { get; init; }
    /// <summary>Makes this rank's reducer when the group does not use c10d (the <c>coordinator</c> backend); called on
    /// the device thread. Null: a c10d process group through the store.</summary>
    public Func<IGradientReducer>? Reducer { get; init; }
    public int Threads { get; init; } = 1;
    /// <summary>The size of the gradient buckets reduced while backward runs (DDP's <c>bucket_cap_mb</c>); 0: one
    /// reduction of every gradient after backward.</summary>
    public double BucketMegabytes { get; init; } = BucketedReduction.DefaultBucketMegabytes;

    public string CheckpointsDirectory => Path.Combine(OutputDirectory, "checkpoints");

    /// <summary>Joins this rank's group (blocks until every rank has): one replica needs none; the coordinator
    /// backend's reducer; else a c10d process group (Gloo on CPU, NCCL on CUDA) through the store. On the device thread.</summary>
    public IGradientReducer JoinGroup()
    {
        if (Layout.Workers == 1) return new SingleReplicaReducer();
        if (Reducer is not null) return Reducer();
        var store = new TCPStore(StoreHost, StorePort, isServer: false, timeout: CollectiveTimeout);
        try
        {
            var backend = Device == Device.CPU ? Backend.Gloo : Backend.Nccl;
            return new ProcessGroupReducer(ProcessGroup.Create(backend, store, Layout.Rank, Layout.Workers, BindHost, CollectiveTimeout), store);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>The reduction overlapped with backward, for a group of more than one replica and buckets above 0 MB.</summary>
    public BucketedReduction? Buckets(DataParallelReplica replica, IGradientReducer reducer) =>
        Layout.Workers > 1 && BucketMegabytes > 0
            ? new BucketedReduction(replica.Parameters.Select(p => (Tensor)p.Parameter).ToArray(), replica.GradientElements, reducer, BucketMegabytes, Device)
            : null;
}
