using System.Diagnostics;
using Cluster.Torch.Distributed;
using Xunit;

namespace Cluster.Torch.Tests;

public class DistributedTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Runs body(rank, group) for every rank on its own thread; the store is hosted by rank 0.</summary>
    private static async Task<T[]> RunRanks<T>(int size, Func<int, ProcessGroup, T> body)
    {
        using var server = new TCPStore("127.0.0.1", 0, isServer: true, timeout: Timeout);
        int port = server.Port;
        var ranks = Enumerable.Range(0, size).Select(rank => Task.Factory.StartNew(() =>
        {
            using var client = rank == 0 ? null : new TCPStore("127.0.0.1", port, isServer: false, timeout: Timeout);
            using var group = ProcessGroup.Create(Backend.Gloo, client ?? server, rank, size, timeout: Timeout);
            using var scope = torch.NewDisposeScope();
            return body(rank, group);
        }, TaskCreationOptions.LongRunning)).ToArray();
        return await Task.WhenAll(ranks).WaitAsync(Timeout);
    }

    [Fact]
    public async Task TwoThreadsAllReduceToTheExactSumAndMean()
    {
        var results = await RunRanks(2, (rank, group) =>
        {
            var t = torch.tensor(new float[] { 1.5f, -2f, 1e6f, 0.1f }) * (rank + 1);
            group.all_reduce(t);
            var mean = torch.full([3], rank == 0 ? 1.0 : 4.0, ScalarType.Float64);
            group.all_reduce(mean, ReduceOp.Average);
            return (sum: t.Floats(), mean: mean.Doubles());
        });
        foreach (var (sum, mean) in results)
        {
            Assert.Equal(new[] { 1.5f * 3, -2f * 3, 1e6f * 3, 0.1f + 0.2f }, sum);
            Assert.Equal(new[] { 2.5, 2.5, 2.5 }, mean);
        }
    }

    [Fact]
    public async Task BroadcastAllGatherAndBarrier()
    {
        var results = await RunRanks(3, (rank, group) =>
        {
            var weights = rank == 1 ? torch.tensor(new long[] { 7, 8, 9 }) : torch.zeros([3], ScalarType.Int64);
            group.broadcast(weights, root: 1);
            var gathered = group.all_gather(torch.full([2], rank, ScalarType.Float32));
            group.barrier();
            return (weights: weights.Longs(), gathered: gathered.Select(g => g.Floats()).ToArray());
        });
        foreach (var (weights, gathered) in results)
        {
            Assert.Equal(new long[] { 7, 8, 9 }, weights);
            Assert.Equal(new[] { new[] { 0f, 0f }, new[] { 1f, 1f }, new[] { 2f, 2f } }, gathered);
        }
    }

    [Fact]
    public async Task TwoProcessesAllReduceToTheExactSum()
    {
        using var server = new TCPStore("127.0.0.1", 0, isServer: true, timeout: Timeout);
        var helper = Path.Combine(AppContext.BaseDirectory, "Cluster.Torch.RankProcess.dll");
        var psi = new ProcessStartInfo("dotnet", [helper, "127.0.0.1", server.Port.ToString(), "1", "2"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var child = Process.Start(psi)!;
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();

        var mine = await Task.Factory.StartNew(() =>
        {
            using var group = ProcessGroup.Create(Backend.Gloo, server, 0, 2, timeout: Timeout);
            // the same contribution the helper makes for rank 0: [1, 10, 100, 1000, …]
            var values = Enumerable.Range(0, 8).Select(i => (float)Math.Pow(10, i % 4)).ToArray();
            using var t = torch.tensor(values, 8);
            group.all_reduce(t);
            return t.Floats();
        }, TaskCreationOptions.LongRunning).WaitAsync(Timeout);

        await child.WaitForExitAsync(new CancellationTokenSource(Timeout).Token);
        Assert.True(child.ExitCode == 0, $"rank 1 exited {child.ExitCode}: {await stderr}");
        var expected = Enumerable.Range(0, 8).Select(i => (float)(3 * Math.Pow(10, i % 4))).ToArray();
        Assert.Equal(expected, mine);
        var theirs = (await stdout).Trim().Split(' ').Select(s => float.Parse(s, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(expected, theirs);
    }

    [Fact]
    public async Task AMissingPeerIsAnErrorNotAHang()
    {
        using var server = new TCPStore("127.0.0.1", 0, isServer: true, timeout: TimeSpan.FromSeconds(2));
        var join = Task.Factory.StartNew(
            () => ProcessGroup.Create(Backend.Gloo, server, 0, 2, timeout: TimeSpan.FromSeconds(2)),
            TaskCreationOptions.LongRunning);
        var ex = await Assert.ThrowsAsync<TorchException>(() => join.WaitAsync(Timeout));
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public void GlooIsBuiltInAndBadRanksAreRefused()
    {
        Assert.True(ProcessGroup.IsAvailable(Backend.Gloo));
        using var server = new TCPStore("127.0.0.1", 0, isServer: true, timeout: Timeout);
        Assert.Throws<ArgumentOutOfRangeException>(() => ProcessGroup.Create(Backend.Gloo, server, 2, 2));
        if (!ProcessGroup.IsAvailable(Backend.Nccl))
        {
            var ex = Assert.Throws<TorchException>(() => ProcessGroup.Create(Backend.Nccl, server, 0, 1));
            Assert.Contains("NCCL", ex.Message);
        }
    }
}
