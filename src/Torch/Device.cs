using Cluster.Torch.Native;

namespace Cluster.Torch;

public enum DeviceType { CPU = 0, CUDA = 1 }

/// <summary>A device as PyTorch names it: "cpu", "cuda", "cuda:1".</summary>
public readonly record struct Device(DeviceType Type, int Index = 0)
{
    public static readonly Device CPU = new(DeviceType.CPU);

    public static Device CUDA(int index = 0) => new(DeviceType.CUDA, index);

    public static Device Parse(string text)
    {
        var s = text.Trim().ToLowerInvariant();
        if (s == "cpu") return CPU;
        if (s == "cuda") return CUDA();
        if (s.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(s.AsSpan(5), out var i) && i >= 0) return CUDA(i);
        throw new ArgumentException($"unknown device '{text}' (expected cpu, cuda or cuda:N)", nameof(text));
    }

    public override string ToString() => Type == DeviceType.CPU ? "cpu" : $"cuda:{Index}";
}

public static partial class torch
{
    public static class cuda
    {
        public static bool is_available() => LibTorch.ct_cuda_is_available() == 1;

        public static int device_count() => LibTorch.ct_cuda_device_count();

        public static void synchronize(int device = 0) => TorchException.Check(LibTorch.ct_cuda_synchronize(device));
    }
}
