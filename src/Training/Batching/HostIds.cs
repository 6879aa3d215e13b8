using Cluster.Torch;

namespace Cluster.Training.Batching;

/// <summary>A micro-batch's host arrays as the int64 (rows, length) tensors the model takes, in the caller's DisposeScope.</summary>
internal static class HostIds
{
    public static Tensor ToTensor(int[] values, int rows, int length, Device device) =>
        torch.tensor(values.Select(v => (long)v).ToArray(), [rows, length]).to(device);

    public static Tensor ToTensor(long[] values, int rows, int length, Device device) => torch.tensor(values, [rows, length]).to(device);
}
