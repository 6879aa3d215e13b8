using System.Runtime.InteropServices;

namespace Cluster.Testing;

/// <summary>
/// Bytes the native allocator has handed out and not yet freed (glibc's mallinfo2: arena plus mmapped chunks), which is
/// where libtorch's CPU tensors live. Process-wide, so meaningful only in a test collection that runs alone.
/// </summary>
public static partial class NativeHeap
{
    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    }

    [LibraryImport("libc", EntryPoint = "mallinfo2")]
    private static partial MallInfo2 Info();

    public static long InUse
    {
        get
        {
            var info = Info();
            return (long)info.uordblks + (long)info.hblkhd;
        }
    }
}

/// <summary>What one step allocated: on the managed heap (this thread's total allocations, an upper bound on its peak) and
/// on the native heap (still held when measured).</summary>
public readonly struct AllocationProbe
{
    private readonly long managed = GC.GetAllocatedBytesForCurrentThread(), native = NativeHeap.InUse;

    public AllocationProbe() { }

    public long Managed => GC.GetAllocatedBytesForCurrentThread() - managed;

    public long Native => NativeHeap.InUse - native;

    /// <summary>Fails naming <paramref name="what"/> when either heap grew past <paramref name="budget"/> bytes.</summary>
    public void Within(long budget, string what)
    {
        long m = Managed, n = Native;
        if (m > budget || n > budget)
            throw new Xunit.Sdk.XunitException($"{what} allocated {m / 1024} KiB managed and {n / 1024} KiB native, over the {budget / 1024} KiB budget");
    }
}
