using Cluster.Torch;

namespace Cluster.Testing;

public static class LiveTensors
{
    /// <summary>Settles finalizers so the live-tensor count reflects only what is really alive.</summary>
    public static long Settled()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        return torch.LiveTensorCount;
    }
}
