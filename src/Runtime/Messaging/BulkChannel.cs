using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Cluster.Runtime.Messaging;

/// <summary>Large binary segments between silos travel over plain TCP beside the HTTP/2 call, because
/// .NET's HTTP/2 client uploads at a fraction of a socket's speed. The call's header names a transfer
/// id; the bytes arrive on a bulk connection tagged with that id and are read straight into the
/// arrays the grain receives.
///
/// A bulk connection opens with the cluster secret (int32 length + UTF-8); each transfer is a 16-byte
/// id, an int32 segment count, an int64 length per segment, then the segments' bytes.</summary>
internal sealed class BulkReceiver : IAsyncDisposable
{
    readonly Socket _listener;
    readonly byte[] _secret;
    readonly long _maxBytes;
    readonly TimeSpan _unclaimedFor;
    ILogger _log = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    readonly CancellationTokenSource _stop = new();
    readonly ConcurrentDictionary<Guid, TaskCompletionSource<byte[][]>> _transfers = new();
    readonly ConcurrentDictionary<Socket, byte> _connections = new();
    Task _accepting = Task.CompletedTask;

    public BulkReceiver(IPAddress address, int port, string secret, long maxBytes, TimeSpan unclaimedFor)
    {
        (_secret, _maxBytes, _unclaimedFor) = (Encoding.UTF8.GetBytes(secret), maxBytes, unclaimedFor);
        _listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(address, port));
        _listener.Listen(128);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
    }

    public int Port { get; }
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);
    long _bytesReceived;

    public void Start(ILogger log)
    {
        _log = log;
        _accepting = Task.Run(AcceptLoopAsync);
    }

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
            _connections[connection] = 0;
            _ = Task.Run(() => ServeAsync(connection));
        }
    }

    async Task ServeAsync(Socket connection)
    {
        var token = _stop.Token;
        try
        {
            connection.NoDelay = true;
            var secretLength = BinaryPrimitives.ReadInt32LittleEndian(await ReadAsync(connection, 4, token).ConfigureAwait(false));
            if (secretLength != _secret.Length
                || !CryptographicOperations.FixedTimeEquals(await ReadAsync(connection, secretLength, token).ConfigureAwait(false), _secret))
            {
                _log.LogWarning("bulk connection from {Peer} refused: missing or wrong cluster secret", connection.RemoteEndPoint);
                return;
            }
            while (!token.IsCancellationRequested)
            {
                var head = await ReadAsync(connection, 20, token, endOk: true).ConfigureAwait(false);
                if (head is null) return; // the sender closed an idle connection
                var id = new Guid(head.AsSpan(0, 16));
                var count = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(16));
                if (count is < 0 or > 1 << 20) throw new MessageFormatException($"bulk transfer with {count} segments");
                var lengths = await ReadAsync(connection, 8 * count, token).ConfigureAwait(false);
                var segments = new byte[count][];
                long total = 0;
                for (var i = 0; i < count; i++)
                {
                    var length = BinaryPrimitives.ReadInt64LittleEndian(lengths.AsSpan(8 * i));
                    total += length;
                    if (length < 0 || length > Array.MaxLength || total > _maxBytes)
                        throw new MessageTooLargeException($"bulk transfer of {total} bytes exceeds the limit of {_maxBytes} bytes");
                    segments[i] = GC.AllocateUninitializedArray<byte>((int)length); // every byte is read into it next
                    await ReadIntoAsync(connection, segments[i], token).ConfigureAwait(false);
                }
                Interlocked.Add(ref _bytesReceived, total);
                _transfers.GetOrAdd(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(segments);
                _ = ForgetIfUnclaimedAsync(id);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or MessageFormatException or MessageTooLargeException)
        {
            if (!token.IsCancellationRequested) _log.LogWarning("bulk connection from {Peer} dropped: {Message}", connection.RemoteEndPoint, e.Message);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
            connection.Dispose();
        }
    }

    /// <summary>Bytes whose call never arrived (its sender died mid-call) are dropped after a while.</summary>
    async Task ForgetIfUnclaimedAsync(Guid id)
    {
        try { await Task.Delay(_unclaimedFor, _stop.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        _transfers.TryRemove(id, out _);
    }

    static async Task<byte[]?> ReadAsync(Socket socket, int count, CancellationToken token, bool endOk = false)
    {
        var buffer = new byte[count];
        var at = 0;
        while (at < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(at), SocketFlags.None, token).ConfigureAwait(false);
            if (n == 0)
            {
                if (endOk && at == 0) return null;
                throw new IOException("bulk connection closed mid-transfer");
            }
            at += n;
        }
        return buffer;
    }

    static async Task ReadIntoAsync(Socket socket, byte[] buffer, CancellationToken token)
    {
        var at = 0;
        while (at < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(at), SocketFlags.None, token).ConfigureAwait(false);
            if (n == 0) throw new IOException("bulk connection closed mid-transfer");
            at += n;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        foreach (var connection in _connections.Keys) connection.Dispose();
        await _accepting.ConfigureAwait(false);
        foreach (var transfer in _transfers.Values) transfer.TrySetCanceled();
    }
}

/// <summary>The sending side: a small pool of authenticated bulk connections per peer.</summary>
internal sealed class BulkSender(string secret) : IDisposable
{
    readonly byte[] _hello = Hello(secret);
    readonly ConcurrentDictionary<IPEndPoint, ConcurrentBag<Socket>> _idle = new();

    static byte[] Hello(string secret)
    {
        var bytes = Encoding.UTF8.GetBytes(secret);
        var hello = new byte[4 + bytes.Length];
        BinaryPrimitives.WriteInt32LittleEndian(hello, bytes.Length);
        bytes.CopyTo(hello, 4);
        return hello;
    }

    public async Task SendAsync(IPEndPoint peer, Guid id, IReadOnlyList<ReadOnlyMemory<byte>> segments, CancellationToken cancellation)
    {
        // A pooled connection may have died with its peer's restart: then one fresh try.
        for (var attempt = 0; ; attempt++)
        {
            var (socket, pooled) = await RentAsync(peer, cancellation).ConfigureAwait(false);
            try
            {
                await SendOnAsync(socket, id, segments, cancellation).ConfigureAwait(false);
                _idle.GetOrAdd(peer, _ => []).Add(socket);
                return;
            }
            catch (Exception e) when (e is SocketException or IOException && pooled && attempt == 0)
            {
                socket.Dispose();
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
    }

    static async Task SendOnAsync(Socket socket, Guid id, IReadOnlyList<ReadOnlyMemory<byte>> segments, CancellationToken cancellation)
    {
        {
            var head = new byte[20 + 8 * segments.Count];
            id.TryWriteBytes(head);
            BinaryPrimitives.WriteInt32LittleEndian(head.AsSpan(16), segments.Count);
            for (var i = 0; i < segments.Count; i++) BinaryPrimitives.WriteInt64LittleEndian(head.AsSpan(20 + 8 * i), segments[i].Length);
            await SendAllAsync(socket, head, cancellation).ConfigureAwait(false);
            foreach (var segment in segments) await SendAllAsync(socket, segment, cancellation).ConfigureAwait(false);
        }
    }

    async Task<(Socket Socket, bool Pooled)> RentAsync(IPEndPoint peer, CancellationToken cancellation)
    {
        if (_idle.TryGetValue(peer, out var idle) && idle.TryTake(out var pooled)) return (pooled, true);
        var socket = new Socket(peer.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(peer, cancellation).ConfigureAwait(false);
            await SendAllAsync(socket, _hello, cancellation).ConfigureAwait(false);
            return (socket, false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> bytes, CancellationToken cancellation)
    {
        while (bytes.Length > 0)
        {
            var n = await socket.SendAsync(bytes, SocketFlags.None, cancellation).ConfigureAwait(false);
            bytes = bytes[n..];
        }
    }

    public void Dispose()
    {
        foreach (var bag in _idle.Values)
            while (bag.TryTake(out var socket)) socket.Dispose();
    }
}
