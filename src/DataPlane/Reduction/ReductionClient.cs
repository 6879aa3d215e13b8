using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Cluster.DataPlane.Reduction;

/// <summary>One rank's connection to its group's <see cref="ReductionServer"/>. Blocking calls, for the thread that
/// owns the rank's device: a writer task sends the buffer's chunks while this thread reads each chunk's sum back into
/// the same memory (the server answers chunk k only after it has every rank's chunk k, so nothing is overwritten early).</summary>
public sealed class ReductionClient : IDisposable
{
    readonly Stream _stream;
    readonly TimeSpan _timeout;

    ReductionClient(Stream stream, int rank, int ranks, TimeSpan timeout) => (_stream, Rank, Ranks, _timeout) = (stream, rank, ranks, timeout);

    public int Rank { get; }
    public int Ranks { get; }

    /// <param name="timeout">how long a read or write may wait for the server (a peer that vanished shows as its error)</param>
    public static ReductionClient Connect(IPEndPoint server, int rank, int ranks, BulkChannelSecurity security, TimeSpan timeout)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
        {
            NoDelay = true,
            ReceiveTimeout = (int)timeout.TotalMilliseconds,
            SendTimeout = (int)timeout.TotalMilliseconds,
        };
        try { socket.Connect(server); }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new ReductionException($"the reduction server {server} is unreachable: {e.Message}", e);
        }
        using var connecting = new CancellationTokenSource(timeout);
        var stream = security.ConnectAsync(socket, connecting.Token).GetAwaiter().GetResult();
        try
        {
            stream.Write(ReductionProtocol.Hello(rank, ranks));
            stream.Flush();
        }
        catch (IOException e)
        {
            stream.Dispose();
            throw new ReductionException($"the reduction server {server} closed the connection: {e.Message}", e);
        }
        return new ReductionClient(stream, rank, ranks, timeout);
    }

    /// <summary>Replaces <paramref name="data"/> by its sum over every rank.</summary>
    public void SumInPlace(Span<float> data) => Round(ReductionProtocol.Sum, data);

    /// <summary>Replaces <paramref name="data"/> by rank 0's.</summary>
    public void Broadcast(Span<float> data) => Round(ReductionProtocol.Broadcast, data);

    unsafe void Round(int operation, Span<float> data)
    {
        try
        {
            _stream.Write(ReductionProtocol.Header(operation, data.Length));
            fixed (float* pointer = data)
            {
                var (address, count) = ((IntPtr)pointer, data.Length);
                var sends = operation == ReductionProtocol.Sum || Rank == 0;
                var receives = operation == ReductionProtocol.Sum || Rank != 0;
                // Its own thread, not the pool's: a blocked pool thread would starve the async I/O of whatever shares this
                // process (the silo, or the reduction server itself).
                var writer = sends ? Task.Factory.StartNew(() => WriteChunks(address, count), TaskCreationOptions.LongRunning) : Task.CompletedTask;
                try
                {
                    if (receives)
                        for (long at = 0; at < count; at += ReductionProtocol.ChunkFloats)
                        {
                            var n = (int)Math.Min(ReductionProtocol.ChunkFloats, count - at);
                            _stream.ReadExactly(MemoryMarshal.AsBytes(new Span<float>((float*)address + at, n)));
                        }
                }
                finally
                {
                    // The writer must be done with the memory before the caller may free it.
                    if (!writer.Wait(_timeout)) throw new ReductionException($"sending {count} floats to the reduction server took over {_timeout}");
                }
                writer.GetAwaiter().GetResult();
            }
        }
        catch (Exception e) when (e is IOException or SocketException or AggregateException or EndOfStreamException)
        {
            throw new ReductionException($"rank {Rank} of {Ranks}: the {ReductionProtocol.Name(operation)} broke off ({(e.InnerException ?? e).Message})", e);
        }
    }

    unsafe void WriteChunks(IntPtr address, long count)
    {
        for (long at = 0; at < count; at += ReductionProtocol.ChunkFloats)
        {
            var n = (int)Math.Min(ReductionProtocol.ChunkFloats, count - at);
            _stream.Write(MemoryMarshal.AsBytes(new ReadOnlySpan<float>((float*)address + at, n)));
        }
        _stream.Flush();
    }

    public void Dispose() => _stream.Dispose();
}
