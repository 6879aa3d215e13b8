using Cluster.Torch.Distributed;
using Cluster.Training.Reduction;

namespace Cluster.Training.Tests;

/// <summary>One rank's reducer in a group whose ranks are threads of this process: alone, the single-replica one; else a
/// Gloo group through the server store that rank 0 owns (the other ranks connect their own clients).</summary>
sealed class RankReducer : IDisposable
{
    readonly TCPStore? _client;

    public RankReducer(TCPStore? server, int rank, int workers, TimeSpan timeout)
    {
        _client = rank == 0 || server is null ? null : new TCPStore("127.0.0.1", server.Port, isServer: false, timeout: timeout);
        Reducer = server is null ? new SingleReplicaReducer()
            : new ProcessGroupReducer(ProcessGroup.Create(Backend.Gloo, _client ?? server, rank, workers, timeout: timeout));
    }

    public IGradientReducer Reducer { get; }

    public void Dispose()
    {
        Reducer.Dispose();
        _client?.Dispose();
    }
}
