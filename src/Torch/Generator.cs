using Cluster.Torch.Native;

namespace Cluster.Torch;

/// <summary>
/// A seeded random-number generator (a CPU generator; on CUDA the numbers are drawn on the CPU
/// and copied, so one seed gives one tensor on every device).
/// </summary>
public sealed class Generator : IDisposable
{
    private IntPtr handle;

    public Generator(ulong seed)
    {
        handle = TorchException.Check(LibTorch.ct_generator_new(seed));
        Seed = seed;
    }

    public ulong Seed { get; }

    internal IntPtr Handle => handle == IntPtr.Zero ? throw new ObjectDisposedException(nameof(Generator)) : handle;

    internal static IntPtr HandleOf(Generator? g) => g?.Handle ?? IntPtr.Zero;

    public void Dispose()
    {
        if (handle == IntPtr.Zero) return;
        LibTorch.ct_generator_free(handle);
        handle = IntPtr.Zero;
        GC.SuppressFinalize(this);
    }

    ~Generator() => Dispose();
}
