using Cluster.Torch.Native;

namespace Cluster.Torch.Distributed;

/// <summary>
/// c10d's key-value store for rendezvous: one rank (the coordinator) hosts it as the server, the
/// others connect as clients. Port 0 on the server picks a free port (see <see cref="Port"/>).
/// </summary>
public sealed class TCPStore : IDisposable
{
    private IntPtr handle;

    public TCPStore(string host, int port, bool isServer, TimeSpan? timeout = null)
    {
        if (port is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(port), port, "a TCP port is 0..65535");
        handle = TorchException.Check(LibTorch.ct_store_new(host, port, isServer ? 1 : 0,
            (long)(timeout ?? TimeSpan.FromSeconds(300)).TotalMilliseconds));
        Host = host;
    }

    public string Host { get; }

    public int Port => TorchException.Check(LibTorch.ct_store_port(Handle));

    internal IntPtr Handle => handle == IntPtr.Zero ? throw new ObjectDisposedException(nameof(TCPStore)) : handle;

    public void Dispose()
    {
        if (handle == IntPtr.Zero) return;
        LibTorch.ct_store_free(handle);
        handle = IntPtr.Zero;
    }
}
