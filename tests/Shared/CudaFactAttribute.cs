using Cluster.Torch;
using Xunit;

namespace Cluster.Testing;

/// <summary>
/// A test that needs a CUDA device; skipped, with the reason shown, where there is none. The GPU
/// machine has no .NET SDK, so tests/Cluster.GpuCheck runs every test carrying this attribute there.
/// </summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!torch.cuda.is_available())
            Skip = $"CUDA is not available (libtorch {torch.__version__} on this machine has no CUDA device)";
    }
}
