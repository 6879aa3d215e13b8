using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Cluster.DataPlane;

/// <summary>The sending end of the bulk channel: a small pool of authenticated connections per peer, so that a
/// transfer pays neither a TCP nor a TLS handshake when one was made before.</summary>
public sealed class BulkSender(BulkChannelSecurity security) : IDisposable
{
    readonly ConcurrentDictionary<IPEndPoint, ConcurrentBag<Stream>> _idle = new();

    /// <summary>Sends the segments as transfer <paramref name="id"/>; the receiver hands them to whoever asks for that id.</summary>
    public async Task SendAsync(IPEndPoint peer, Guid id, IReadOnlyList<ReadOnlyMemory<byte>> segments, CancellationToken cancellation)
    {
        // A pooled connection may have died with its peer's restart: then one fresh try.
        for (var attempt = 0; ; attempt++)
        {
            var (stream, pooled) = await RentAsync(peer, cancellation).ConfigureAwait(false);
            try
            {
                await WriteTransferAsync(stream, id, segments, cancellation).ConfigureAwait(false);
                _idle.GetOrAdd(peer, _ => []).Add(stream);
                return;
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                if (!(pooled && attempt == 0)) throw new BulkChannelException($"bulk transfer to {peer} broke off: {e.Message}", e);
            }
            catch
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    static async Task WriteTransferAsync(Stream stream, Guid id, IReadOnlyList<ReadOnlyMemory<byte>> segments, CancellationToken cancellation)
    {
        var head = new byte[20 + 8 * segments.Count];
        id.TryWriteBytes(head);
        BinaryPrimitives.WriteInt32LittleEndian(head.AsSpan(16), segments.Count);
        for (var i = 0; i < segments.Count; i++) BinaryPrimitives.WriteInt64LittleEndian(head.AsSpan(20 + 8 * i), segments[i].Length);
        await stream.WriteAsync(head, cancellation).ConfigureAwait(false);
        foreach (var segment in segments) await stream.WriteAsync(segment, cancellation).ConfigureAwait(false);
        await stream.FlushAsync(cancellation).ConfigureAwait(false);
    }

    async Task<(Stream Stream, bool Pooled)> RentAsync(IPEndPoint peer, CancellationToken cancellation)
    {
        if (_idle.TryGetValue(peer, out var idle) && idle.TryTake(out var pooled)) return (pooled, true);
        var socket = new Socket(peer.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(peer, cancellation).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new BulkChannelException($"bulk peer {peer} is unreachable: {e.Message}", e);
        }
        try { return (await security.ConnectAsync(socket, cancellation).ConfigureAwait(false), false); }
        catch (Exception e) when (e is SocketException or IOException)
        {
            throw new BulkChannelException($"bulk peer {peer} closed the connection while it was opened: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        foreach (var bag in _idle.Values)
            while (bag.TryTake(out var stream)) stream.Dispose();
    }
}
