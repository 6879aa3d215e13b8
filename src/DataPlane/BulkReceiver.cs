using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Cluster.DataPlane;

/// <summary>The receiving end of the bulk channel: large binary segments (tensor bytes) arrive over plain TCP
/// or TLS, outside any grain message. A control message names the transfer id; the bytes arrive on a bulk
/// connection tagged with that id and are read straight into the arrays the caller of <see cref="ReceiveAsync"/> gets.
///
/// Wire format, after the connection is authenticated (<see cref="BulkChannelSecurity"/>): per transfer a 16-byte
/// id, an int32 segment count, an int64 length per segment (little-endian), then the segments' bytes.</summary>
public sealed class BulkReceiver : IAsyncDisposable
{
    readonly Socket _listener;
    readonly BulkChannelSecurity _security;
    readonly long _maxBytes;
    readonly TimeSpan _unclaimedFor;
    readonly ILogger _log;
    readonly CancellationTokenSource _stop = new();
    readonly ConcurrentDictionary<Guid, TaskCompletionSource<byte[][]>> _transfers = new();
    readonly ConcurrentDictionary<Stream, byte> _connections = new();
    Task _accepting = Task.CompletedTask;
    long _bytesReceived;
    int _disposed;

    /// <summary>Binds at once, so a taken port is an error of the constructor.</summary>
    /// <param name="maxBytes">the largest transfer accepted (all its segments together)</param>
    /// <param name="unclaimedFor">how long bytes that nobody asked for are kept (their control message may still come)</param>
    public BulkReceiver(IPEndPoint endpoint, BulkChannelSecurity security, long maxBytes = 16L << 30, TimeSpan? unclaimedFor = null, ILogger? log = null)
    {
        (_security, _maxBytes, _unclaimedFor, _log) = (security, maxBytes, unclaimedFor ?? TimeSpan.FromMinutes(2), log ?? NullLogger.Instance);
        _listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.Bind(endpoint);
            _listener.Listen(128);
        }
        catch (SocketException e)
        {
            _listener.Dispose();
            var reason = e.SocketErrorCode == SocketError.AddressAlreadyInUse ? "is already in use" : $"cannot be bound ({e.Message})";
            throw new BulkChannelException($"the bulk port {endpoint.Port} on {endpoint.Address} {reason}", e);
        }
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    public void Start() => _accepting = Task.Run(AcceptLoopAsync);

    /// <summary>The segments of transfer <paramref name="id"/>, as they arrive (or already arrived).</summary>
    public async Task<byte[][]> ReceiveAsync(Guid id, CancellationToken cancellation)
    {
        var transfer = _transfers.GetOrAdd(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
        try { return await transfer.Task.WaitAsync(cancellation).ConfigureAwait(false); }
        finally { _transfers.TryRemove(id, out _); }
    }

    async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try { connection = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (SocketException e) { _log.LogWarning("bulk accept failed: {Message}", e.Message); continue; }
            _ = Task.Run(() => ServeAsync(connection));
        }
    }

    async Task ServeAsync(Socket socket)
    {
        var token = _stop.Token;
        var peer = socket.RemoteEndPoint;
        socket.NoDelay = true;
        Stream stream;
        try
        {
            using var handshake = CancellationTokenSource.CreateLinkedTokenSource(token);
            handshake.CancelAfter(TimeSpan.FromSeconds(30)); // a peer that connects and says nothing holds no task for long
            stream = await _security.AcceptAsync(socket, handshake.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BulkAuthenticationException or IOException or SocketException or OperationCanceledException)
        {
            socket.Dispose();
            if (!token.IsCancellationRequested) _log.LogWarning("bulk connection from {Peer} refused: {Message}", peer, e.Message);
            return;
        }
        _connections[stream] = 0;
        try
        {
            while (!token.IsCancellationRequested)
            {
                var head = new byte[20];
                if (!await ReadOrEndAsync(stream, head, token).ConfigureAwait(false)) return; // the sender closed an idle connection
                var id = new Guid(head.AsSpan(0, 16));
                var count = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(16));
                if (count is < 0 or > 1 << 20) throw new BulkFrameException($"bulk transfer with {count} segments");
                var lengths = new byte[8 * count];
                await stream.ReadExactlyAsync(lengths, token).ConfigureAwait(false);
                var segments = new byte[count][];
                long total = 0;
                for (var i = 0; i < count; i++)
                {
                    var length = BinaryPrimitives.ReadInt64LittleEndian(lengths.AsSpan(8 * i));
                    total += length;
                    if (length < 0 || length > Array.MaxLength || total > _maxBytes)
                        throw new BulkFrameException($"bulk transfer of {total} bytes or more exceeds the limit of {_maxBytes} bytes");
                    segments[i] = GC.AllocateUninitializedArray<byte>((int)length); // every byte is read into it next
                    await stream.ReadExactlyAsync(segments[i], token).ConfigureAwait(false);
                }
                Interlocked.Add(ref _bytesReceived, total);
                _transfers.GetOrAdd(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(segments);
                _ = ForgetIfUnclaimedAsync(id);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or BulkFrameException)
        {
            if (!token.IsCancellationRequested) _log.LogWarning("bulk connection from {Peer} dropped: {Message}", peer, e.Message);
        }
        finally
        {
            _connections.TryRemove(stream, out _);
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Fills <paramref name="buffer"/>; false if the stream ended before its first byte.</summary>
    static async Task<bool> ReadOrEndAsync(Stream stream, byte[] buffer, CancellationToken token)
    {
        var first = await stream.ReadAsync(buffer, token).ConfigureAwait(false);
        if (first == 0) return false;
        if (first < buffer.Length) await stream.ReadExactlyAsync(buffer.AsMemory(first), token).ConfigureAwait(false);
        return true;
    }

    /// <summary>Bytes whose control message never came (its sender died) are dropped after a while.</summary>
    async Task ForgetIfUnclaimedAsync(Guid id)
    {
        try { await Task.Delay(_unclaimedFor, _stop.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        _transfers.TryRemove(id, out _);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _stop.Cancel();
        _listener.Dispose();
        foreach (var connection in _connections.Keys) await connection.DisposeAsync().ConfigureAwait(false);
        await _accepting.ConfigureAwait(false);
        foreach (var transfer in _transfers.Values) transfer.TrySetCanceled();
        _stop.Dispose();
    }
}
