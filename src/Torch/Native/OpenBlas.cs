using System.Runtime.InteropServices;

namespace Cluster.Torch.Native;

/// <summary>OpenBLAS's thread count, set through its C API when the process has OpenBLAS loaded (libtorch's BLAS on
/// Debian); a no-op where it has not (a CUDA libtorch with MKL, macOS).</summary>
internal static class OpenBlas
{
    delegate void SetNumThreads(int n);
    static readonly SetNumThreads? Setter = Find();

    static SetNumThreads? Find()
    {
        foreach (var name in new[] { "libopenblas.so.0", "libopenblas.so" })
            if (NativeLibrary.TryLoad(name, out var library) && NativeLibrary.TryGetExport(library, "openblas_set_num_threads", out var export))
                return Marshal.GetDelegateForFunctionPointer<SetNumThreads>(export);
        return null;
    }

    public static void SetThreads(int n) => Setter?.Invoke(n);
}
