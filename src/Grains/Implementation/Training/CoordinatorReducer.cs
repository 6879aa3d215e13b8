using System.Net;
using Cluster.DataPlane;
using Cluster.DataPlane.Reduction;
using Cluster.Torch;
using Cluster.Training.Reduction;

namespace Cluster.Grains.Training;

/// <summary>The <c>coordinator</c> backend on a worker: hands the tensor's memory to the data plane's reduction
/// client (a CPU float32 tensor in place; any other through a CPU float32 copy). The sum itself is the server's.</summary>
internal sealed class CoordinatorReducer(ReductionClient client) : IGradientReducer
{
    public static CoordinatorReducer Connect(string host, int port, int rank, int ranks, BulkChannelSecurity security, TimeSpan timeout)
        => new(ReductionClient.Connect(new IPEndPoint(IPAddress.Parse(host), port), rank, ranks, security, timeout));

    public int Replicas => client.Ranks;
    public int Rank => client.Rank;

    public void SumInPlace(Tensor flat) => InPlace(flat, client.SumInPlace);

    public void Broadcast(Tensor tensor) => InPlace(tensor, client.Broadcast);

    static void InPlace(Tensor tensor, SpanAction work)
    {
        if (tensor.device == Device.CPU && tensor.dtype == ScalarType.Float32 && tensor.is_contiguous())
        {
            work(tensor.data<float>());
            return;
        }
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var host = tensor.detach().to(ScalarType.Float32).cpu().contiguous().clone();
        work(host.data<float>());
        tensor.copy_(host.to(tensor.dtype).to(tensor.device));
    }

    delegate void SpanAction(Span<float> data);

    public void Dispose() => client.Dispose();
}
