using System.Buffers.Binary;

namespace Cluster.DataPlane.Reduction;

/// <summary>The wire format between a <see cref="ReductionServer"/> and its <see cref="ReductionClient"/>s, after the
/// connection is authenticated (<see cref="BulkChannelSecurity"/>): a hello of (int32 rank, int32 ranks); then per
/// round a header of (int32 operation, int64 float count), then the floats in chunks of <see cref="ChunkFloats"/>
/// (little-endian float32, as the tensors hold them). For a sum every rank sends each chunk and gets the sum of that
/// chunk back before the next; for a broadcast rank 0 sends and the others receive.</summary>
internal static class ReductionProtocol
{
    public const int Sum = 1;
    public const int Broadcast = 2;
    /// <summary>4 MiB of floats: large enough for full-speed TCP, small enough that summing overlaps the transfer.</summary>
    public const int ChunkFloats = 1 << 20;

    public static byte[] Hello(int rank, int ranks)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(b, rank);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), ranks);
        return b;
    }

    public static byte[] Header(int operation, long count)
    {
        var b = new byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(b, operation);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(4), count);
        return b;
    }

    public static (int Operation, long Count) ReadHeader(ReadOnlySpan<byte> b)
        => (BinaryPrimitives.ReadInt32LittleEndian(b), BinaryPrimitives.ReadInt64LittleEndian(b[4..]));

    public static string Name(int operation) => operation switch { Sum => "sum", Broadcast => "broadcast", _ => $"operation {operation}" };
}

/// <summary>A reduction that could not complete: a rank vanished, timed out, or asked for something else than the others.</summary>
public sealed class ReductionException(string message, Exception? inner = null) : BulkChannelException(message, inner);
