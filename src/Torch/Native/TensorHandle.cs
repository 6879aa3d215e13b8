using System.Runtime.InteropServices;

namespace Cluster.Torch.Native;

/// <summary>Owns one native at::Tensor; releasing it frees the handle (storage goes when its last view does).</summary>
internal sealed class TensorHandle : SafeHandle
{
    /// <summary>Stands for "no tensor" where the C ABI takes an optional one.</summary>
    internal static readonly TensorHandle Null = new(IntPtr.Zero, ownsHandle: false);

    internal TensorHandle(IntPtr raw, bool ownsHandle = true) : base(IntPtr.Zero, ownsHandle) => SetHandle(raw);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        LibTorch.ct_tensor_free(handle);
        return true;
    }
}
