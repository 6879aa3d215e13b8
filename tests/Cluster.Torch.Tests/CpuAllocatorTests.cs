using Xunit;
using F = Cluster.Torch.torch.nn.functional;

namespace Cluster.Torch.Tests;

/// <summary>
/// The caching allocator for large CPU tensors (src/Torch/native/src/cpu_allocator.cpp): freed blocks
/// are reused (the last freed first), never handed to two live tensors, held memory stays within twice the peak in use, the cap
/// and empty_cache give memory back, and a training loop stops mapping memory after its first step.
/// Test collections run one at a time (xunit.runner.json), so the process-wide counters move only
/// for what each test does, once earlier tests' finalizers have run.
/// </summary>
public class CpuAllocatorTests
{
    private const long MiB = 1 << 20;

    /// <summary>Earlier tests' tensors finalized and the cache emptied.</summary>
    private static CpuMemoryStats Settled()
    {
        Ref.SettledLiveCount();
        torch.cpu.empty_cache();
        return torch.cpu.memory_stats();
    }

    private static Tensor Floats(long bytes) => torch.empty([bytes / 4]);

    [Fact]
    public void IsLibtorchsCpuAllocator() => Assert.True(Settled().is_caching);

    [Fact]
    public void AFreedBlockServesTheNextRequestOfItsSize()
    {
        var start = Settled();
        Floats(6 * MiB + 4096).Dispose();
        var freed = torch.cpu.memory_stats();
        Assert.Equal(start.misses + 1, freed.misses);
        Assert.Equal(start.allocated_bytes, freed.allocated_bytes);
        Assert.Equal(start.cached_bytes + 8 * MiB, freed.cached_bytes);  // rounded up to whole huge pages

        using (var again = Floats(7 * MiB))
        {
            var reused = torch.cpu.memory_stats();
            Assert.Equal(freed.hits + 1, reused.hits);
            Assert.Equal(freed.misses, reused.misses);
            Assert.Equal(start.allocated_bytes + 8 * MiB, reused.allocated_bytes);
        }

        // small tensors stay with the C heap
        var before = torch.cpu.memory_stats();
        Floats(128 << 10).Dispose();
        var after = torch.cpu.memory_stats();
        Assert.Equal((before.hits, before.misses), (after.hits, after.misses));
    }

    [Fact]
    public unsafe void OfSeveralFreedBlocksOfOneSizeTheLastFreedIsReusedFirst()
    {
        Settled();
        static IntPtr Address(Tensor t)
        {
            fixed (float* p = t.data<float>()) return (IntPtr)p;
        }
        var first = Floats(6 * MiB);
        var second = Floats(6 * MiB);
        IntPtr secondAddress = Address(second);
        first.Dispose();
        second.Dispose();  // freed last: its pages are the ones most likely still in the CPU's cache
        using var again = Floats(6 * MiB);
        Assert.Equal(secondAddress, Address(again));
    }

    [Fact]
    public void ReservedMemoryStaysWithinTwiceThePeakInUse()
    {
        Settled();
        torch.cpu.reset_peak_memory_stats();
        var start = torch.cpu.memory_stats();
        Assert.Equal(0, start.cached_bytes);
        // 20 sizes, one tensor alive at a time: new sizes must give back cached blocks they cannot
        // use, or 420 MiB would stay mapped for a peak of 40 MiB in use.
        for (long i = 1; i <= 20; i++)
            using (var t = Floats(2 * i * MiB)) t.fill_(i);
        var end = torch.cpu.memory_stats();
        Assert.Equal(start.allocated_bytes, end.allocated_bytes);
        Assert.InRange(end.peak_reserved_bytes, 40 * MiB, 2 * (start.allocated_bytes + 40 * MiB));
    }

    [Fact]
    public void ConcurrentTensorsNeverShareABlock()
    {
        var start = Settled();
        long[] sizes = [300 << 10, 1 * MiB, 5 * MiB, 9 * MiB];
        int wrong = 0;
        var threads = Enumerable.Range(0, 4).Select(id => new Thread(() =>
        {
            var rng = new Random(id);
            for (int i = 0; i < 100; i++)
            {
                float value = id * 1000 + i;
                using var t = torch.full([sizes[rng.Next(sizes.Length)] / 4], value);
                Thread.Yield();
                using var mismatches = t.ne(torch.full([1], value)).sum();
                if (mismatches.item<long>() != 0) Interlocked.Increment(ref wrong);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        var end = Settled();
        Assert.Equal(0, wrong);
        Assert.True(end.hits - start.hits > 100, $"only {end.hits - start.hits} of 400 requests reused a block");
        Assert.Equal(start.allocated_bytes, end.allocated_bytes);
    }

    [Fact]
    public void TheCapAndEmptyCacheGiveMemoryBack()
    {
        Settled();
        long previous = torch.cpu.set_cache_limit(0);
        try
        {
            var start = torch.cpu.memory_stats();
            Assert.Equal(0, start.cached_bytes);
            Assert.Equal(0, start.cache_limit_bytes);
            Floats(4 * MiB).Dispose();
            Floats(4 * MiB).Dispose();
            var end = torch.cpu.memory_stats();
            Assert.Equal(0, end.cached_bytes);
            Assert.Equal(start.misses + 2, end.misses);
        }
        finally
        {
            Assert.Equal(0, torch.cpu.set_cache_limit(previous));
        }
        Floats(4 * MiB).Dispose();
        Assert.True(torch.cpu.memory_stats().cached_bytes >= 4 * MiB);
        torch.cpu.empty_cache();
        Assert.Equal(0, torch.cpu.memory_stats().cached_bytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => torch.cpu.set_cache_limit(-1));
    }

    [Fact]
    public void AnImpossibleRequestFailsWithItsSize()
    {
        var start = Settled();
        var e = Assert.Throws<TorchException>(() => torch.empty([1L << 46]));  // 256 TiB
        Assert.Contains("out of memory allocating 268435456 MiB", e.Message);
        Assert.Equal(start.allocated_bytes, torch.cpu.memory_stats().allocated_bytes);
    }

    [Fact]
    public void ATrainingLoopStopsMappingMemoryAfterItsFirstStep()
    {
        using var scope = torch.NewDisposeScope();
        using var layer1 = new torch.nn.Linear(512, 2048);
        using var layer2 = new torch.nn.Linear(2048, 512);
        var x = torch.randn([1024, 512]);
        long Step()
        {
            using var step = torch.NewDisposeScope();
            long misses = torch.cpu.memory_stats().misses;
            layer1.zero_grad();
            layer2.zero_grad();
            var y = layer2.call(F.dropout(F.gelu(layer1.call(x)), 0.1, training: true));
            y.pow(2).mean().backward();
            return torch.cpu.memory_stats().misses - misses;
        }
        Assert.True(Step() > 0, "the first step maps its activations");
        Step();
        Assert.Equal(0, Step());
        Assert.Equal(0, Step());
    }
}
