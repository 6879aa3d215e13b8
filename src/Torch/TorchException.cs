using System.Runtime.InteropServices;
using Cluster.Torch.Native;

namespace Cluster.Torch;

/// <summary>An error raised by libtorch (or by the shim's own argument checks), with libtorch's message.</summary>
public sealed class TorchException : Exception
{
    public TorchException(string message) : base(message) { }

    internal static TorchException FromNative()
    {
        var message = Marshal.PtrToStringUTF8(LibTorch.ct_last_error());
        return new TorchException(string.IsNullOrEmpty(message) ? "libtorch call failed without a message" : message);
    }

    /// <summary>Throws the pending native error when a call returned NULL.</summary>
    internal static IntPtr Check(IntPtr result) => result == IntPtr.Zero ? throw FromNative() : result;

    /// <summary>Throws the pending native error when a call returned a negative status.</summary>
    internal static int Check(int status) => status < 0 ? throw FromNative() : status;
}
