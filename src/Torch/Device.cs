using System.Runtime.InteropServices;
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
    /// <summary>
    /// The CPU's large-tensor cache (libclustertorch's caching allocator, the counterpart of
    /// PyTorch's CUDA one): tensors of 256 KiB and more reuse freed blocks instead of mapping fresh
    /// pages. Smaller ones come from the C heap and are not counted here.
    /// </summary>
    public static class cpu
    {
        public static CpuMemoryStats memory_stats()
        {
            LibTorch.ct_cpu_memory_stats_get(out var stats);
            return stats;
        }

        /// <summary>Returns every cached (free) block to the operating system.</summary>
        public static void empty_cache() => LibTorch.ct_cpu_empty_cache();

        /// <summary>Restarts <see cref="CpuMemoryStats.peak_reserved_bytes"/> from what is reserved now.</summary>
        public static void reset_peak_memory_stats() => LibTorch.ct_cpu_reset_peak_memory_stats();

        /// <summary>Caps the bytes kept cached; returns the previous cap. 0 turns caching off.</summary>
        public static long set_cache_limit(long bytes) =>
            bytes < 0 ? throw new ArgumentOutOfRangeException(nameof(bytes), "a cache limit cannot be negative") : LibTorch.ct_cpu_set_cache_limit(bytes);
    }

    public static class cuda
    {
        public static bool is_available() => LibTorch.ct_cuda_is_available() == 1;

        public static int device_count() => LibTorch.ct_cuda_device_count();

        public static void synchronize(int device = 0) => TorchException.Check(LibTorch.ct_cuda_synchronize(device));
    }
}

/// <summary>See <see cref="torch.cpu"/>; mirrors ct_cpu_memory_stats.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct CpuMemoryStats(long caching, long allocated_bytes, long cached_bytes, long peak_reserved_bytes,
    long cache_limit_bytes, long hits, long misses)
{
    /// <summary>False when CLUSTER_CPU_ALLOCATOR=default kept libtorch's own allocator.</summary>
    public bool is_caching => caching == 1;

    /// <summary>Mapped now: in use plus cached.</summary>
    public long reserved_bytes => allocated_bytes + cached_bytes;
}
