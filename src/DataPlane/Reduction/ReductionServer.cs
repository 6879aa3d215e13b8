using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Numerics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Cluster.DataPlane.Reduction;

/// <summary>The <c>coordinator</c> all-reduce: every rank of a group connects here and sends its buffer chunk by chunk;
/// each chunk's sum (in rank order, float32) goes back to every rank. No c10d: sockets only, authenticated as the bulk
/// channel is. One server per group formation; when any rank's connection fails or falls silent past the timeout,
/// every connection is closed, so no rank waits on a dead one.</summary>
public sealed class ReductionServer : IAsyncDisposable
{
    readonly Socket _listener;
    readonly BulkChannelSecurity _security;
    readonly int _ranks;
    readonly TimeSpan _timeout;
    readonly ILogger _log;
    readonly CancellationTokenSource _stop = new();
    readonly Task _serving;
    readonly Stream?[] _streams;

    public ReductionServer(IPEndPoint endpoint, int ranks, BulkChannelSecurity security, TimeSpan timeout, ILogger? log = null)
    {
        if (ranks < 1) throw new ArgumentOutOfRangeException(nameof(ranks), ranks, "a group has at least one rank");
        (_ranks, _security, _timeout, _log) = (ranks, security, timeout, log ?? NullLogger.Instance);
        _streams = new Stream?[ranks];
        _listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.Bind(endpoint);
            _listener.Listen(ranks * 2);
        }
        catch (SocketException e)
        {
            _listener.Dispose();
            throw new BulkChannelException($"the reduction server cannot bind {endpoint}: {e.Message}", e);
        }
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _serving = Task.Run(ServeAsync);
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Ends when the group does (every rank closed), or with the error that broke it.</summary>
    public Task Completion => _serving;

    async Task ServeAsync()
    {
        try
        {
            await AcceptRanksAsync().ConfigureAwait(false);
            var headers = new byte[_ranks][];
            for (var r = 0; r < _ranks; r++) headers[r] = new byte[12];
            var chunks = new byte[_ranks][];
            for (var r = 0; r < _ranks; r++) chunks[r] = new byte[ReductionProtocol.ChunkFloats * sizeof(float)];
            var sum = new byte[ReductionProtocol.ChunkFloats * sizeof(float)];
            while (!_stop.IsCancellationRequested)
            {
                if (!await ReadHeadersAsync(headers).ConfigureAwait(false)) return; // the group ended
                var (operation, count) = ReductionProtocol.ReadHeader(headers[0]);
                for (var r = 1; r < _ranks; r++)
                    if (ReductionProtocol.ReadHeader(headers[r]) is var (op, n) && (op != operation || n != count))
                        throw new ReductionException($"rank {r} asked for a {ReductionProtocol.Name(op)} of {n} floats, rank 0 for a {ReductionProtocol.Name(operation)} of {count}");
                for (long at = 0; at < count; at += ReductionProtocol.ChunkFloats)
                {
                    var bytes = (int)Math.Min(ReductionProtocol.ChunkFloats, count - at) * sizeof(float);
                    using var round = Deadline();
                    if (operation == ReductionProtocol.Sum)
                    {
                        await Task.WhenAll(Enumerable.Range(0, _ranks).Select(r => _streams[r]!.ReadExactlyAsync(chunks[r].AsMemory(0, bytes), round.Token).AsTask())).ConfigureAwait(false);
                        AddAll(chunks, sum.AsSpan(0, bytes));
                        await Task.WhenAll(Enumerable.Range(0, _ranks).Select(r => _streams[r]!.WriteAsync(sum.AsMemory(0, bytes), round.Token).AsTask())).ConfigureAwait(false);
                    }
                    else if (operation == ReductionProtocol.Broadcast)
                    {
                        await _streams[0]!.ReadExactlyAsync(chunks[0].AsMemory(0, bytes), round.Token).ConfigureAwait(false);
                        await Task.WhenAll(Enumerable.Range(1, _ranks - 1).Select(r => _streams[r]!.WriteAsync(chunks[0].AsMemory(0, bytes), round.Token).AsTask())).ConfigureAwait(false);
                    }
                    else throw new ReductionException($"unknown reduction operation {operation}");
                }
                await Task.WhenAll(_streams.Select(s => s!.FlushAsync(_stop.Token))).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (!_stop.IsCancellationRequested)
        {
            _log.LogWarning("reduction group of {Ranks} broke off: {Error}", _ranks, e.Message);
            throw e as ReductionException ?? new ReductionException($"the reduction group broke off: {e.Message}", e);
        }
        catch (Exception) { } // disposed
        finally
        {
            foreach (var s in _streams) if (s is not null) await s.DisposeAsync().ConfigureAwait(false);
        }
    }

    CancellationTokenSource Deadline()
    {
        var round = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        round.CancelAfter(_timeout);
        return round;
    }

    async Task AcceptRanksAsync()
    {
        using var joining = Deadline();
        for (var joined = 0; joined < _ranks;)
        {
            var socket = await _listener.AcceptAsync(joining.Token).ConfigureAwait(false);
            socket.NoDelay = true;
            Stream stream;
            try { stream = await _security.AcceptAsync(socket, joining.Token).ConfigureAwait(false); }
            catch (BulkAuthenticationException e)
            {
                _log.LogWarning("reduction connection refused: {Error}", e.Message);
                socket.Dispose();
                continue;
            }
            var hello = new byte[8];
            await stream.ReadExactlyAsync(hello, joining.Token).ConfigureAwait(false);
            var (rank, ranks) = (BinaryPrimitives.ReadInt32LittleEndian(hello), BinaryPrimitives.ReadInt32LittleEndian(hello.AsSpan(4)));
            if (ranks != _ranks || rank < 0 || rank >= _ranks || _streams[rank] is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                throw new ReductionException($"a rank joined as {rank} of {ranks}; this group has {_ranks} ranks{(rank >= 0 && rank < _ranks && _streams[rank] is not null ? $" and rank {rank} already" : "")}");
            }
            _streams[rank] = stream;
            joined++;
        }
    }

    /// <summary>Every rank's next header; false when every rank closed its connection instead (the group is over).
    /// No deadline: between steps a group may wait as long as its coordinator likes.</summary>
    async Task<bool> ReadHeadersAsync(byte[][] headers)
    {
        var reads = await Task.WhenAll(Enumerable.Range(0, _ranks).Select(async r =>
        {
            var got = await _streams[r]!.ReadAtLeastAsync(headers[r], headers[r].Length, throwOnEndOfStream: false, _stop.Token).ConfigureAwait(false);
            return got;
        })).ConfigureAwait(false);
        if (reads.All(n => n == 0)) return false;
        var short_ = Array.FindIndex(reads, n => n < 12);
        if (short_ >= 0) throw new ReductionException($"rank {short_} closed its connection");
        return true;
    }

    /// <summary>sum = chunks[0] + chunks[1] + … in rank order, float32, as Gloo's sum on two ranks gives.</summary>
    static void AddAll(byte[][] chunks, Span<byte> sum)
    {
        var total = MemoryMarshal.Cast<byte, float>(sum);
        MemoryMarshal.Cast<byte, float>(chunks[0].AsSpan(0, sum.Length)).CopyTo(total);
        for (var r = 1; r < chunks.Length; r++)
        {
            var next = MemoryMarshal.Cast<byte, float>(chunks[r].AsSpan(0, sum.Length));
            var i = 0;
            var width = Vector<float>.Count;
            for (; i <= total.Length - width; i += width)
                (new Vector<float>(total[i..]) + new Vector<float>(next[i..])).CopyTo(total[i..]);
            for (; i < total.Length; i++) total[i] += next[i];
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        try { await _serving.ConfigureAwait(false); } catch (Exception) { }
        _stop.Dispose();
    }
}
