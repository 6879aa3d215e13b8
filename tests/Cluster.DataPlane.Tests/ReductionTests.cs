using System.Net;
using Cluster.DataPlane.Reduction;

namespace Cluster.DataPlane.Tests;

/// <summary>The coordinator all-reduce over sockets: sums and broadcasts of buffers that span several chunks, checked
/// against sums computed here; a rank that vanishes fails the others at once; a rank without the secret never joins.</summary>
public sealed class ReductionTests
{
    static readonly BulkChannelSecurity Secret = BulkChannelSecurity.SharedSecret("reduction-test");
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    /// <summary>Runs <paramref name="work"/> for every rank on its own thread, each with its own client.</summary>
    static async Task OnEveryRankAsync(ReductionServer server, int ranks, Action<ReductionClient> work, BulkChannelSecurity? security = null)
        => await Task.WhenAll(Enumerable.Range(0, ranks).Select(rank => Task.Factory.StartNew(() =>
        {
            using var client = ReductionClient.Connect(server.EndPoint, rank, ranks, security ?? Secret, Timeout);
            work(client);
        }, TaskCreationOptions.LongRunning)));

    [Fact]
    public async Task Three_ranks_get_the_rank_order_sum_of_buffers_spanning_several_chunks_and_rank_0s_broadcast()
    {
        const int ranks = 3, length = (1 << 20) * 2 + 12345; // two full chunks and a partial one
        var inputs = Enumerable.Range(0, ranks).Select(r => Random(length, r)).ToArray();
        var expected = new float[length];
        for (var i = 0; i < length; i++) expected[i] = inputs[0][i] + inputs[1][i] + inputs[2][i];
        var results = inputs.Select(x => (float[])x.Clone()).ToArray();
        var broadcast = Enumerable.Range(0, ranks).Select(r => Random(1000, 100 + r)).ToArray();
        var rank0 = (float[])broadcast[0].Clone();

        await using var server = new ReductionServer(new IPEndPoint(IPAddress.Loopback, 0), ranks, Secret, Timeout);
        await OnEveryRankAsync(server, ranks, client =>
        {
            client.SumInPlace(results[client.Rank]);
            client.Broadcast(broadcast[client.Rank]);
            client.SumInPlace(Span<float>.Empty); // an empty round is a round
        });
        foreach (var result in results) Assert.Equal(expected, result);
        foreach (var b in broadcast) Assert.Equal(rank0, b);
        await server.Completion.WaitAsync(Timeout); // every rank closed: the group is over
    }

    [Fact]
    public async Task A_rank_that_vanishes_mid_group_fails_the_others_at_once_not_after_the_timeout()
    {
        await using var server = new ReductionServer(new IPEndPoint(IPAddress.Loopback, 0), 2, Secret, Timeout);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var survivor = Task.Factory.StartNew(() =>
        {
            using var client = ReductionClient.Connect(server.EndPoint, 0, 2, Secret, Timeout);
            client.SumInPlace(new float[10]);
            client.SumInPlace(new float[10]); // its peer is gone by now
        }, TaskCreationOptions.LongRunning);
        var vanishing = Task.Factory.StartNew(() =>
        {
            var client = ReductionClient.Connect(server.EndPoint, 1, 2, Secret, Timeout);
            client.SumInPlace(new float[10]);
            client.Dispose();
        }, TaskCreationOptions.LongRunning);
        await vanishing;
        var e = await Assert.ThrowsAsync<ReductionException>(() => survivor);
        Assert.Contains("rank 0 of 2", e.Message);
        Assert.True(watch.Elapsed < Timeout / 2, $"the survivor failed after {watch.Elapsed}");
        await Assert.ThrowsAsync<ReductionException>(() => server.Completion);
    }

    [Fact]
    public async Task Ranks_that_disagree_on_the_size_fail_with_both_sizes_named()
    {
        await using var server = new ReductionServer(new IPEndPoint(IPAddress.Loopback, 0), 2, Secret, Timeout);
        var failures = await Task.WhenAll(Enumerable.Range(0, 2).Select(rank => Task.Factory.StartNew(() =>
        {
            using var client = ReductionClient.Connect(server.EndPoint, rank, 2, Secret, Timeout);
            try { client.SumInPlace(new float[rank == 0 ? 10 : 11]); return null; }
            catch (ReductionException e) { return e; }
        }, TaskCreationOptions.LongRunning)));
        Assert.All(failures, Assert.NotNull);
        var error = await Assert.ThrowsAsync<ReductionException>(() => server.Completion);
        Assert.Contains("rank 1 asked for a sum of 11 floats, rank 0 for a sum of 10", error.Message);
    }

    [Fact]
    public async Task A_client_without_the_cluster_secret_is_refused_and_the_group_still_forms()
    {
        await using var server = new ReductionServer(new IPEndPoint(IPAddress.Loopback, 0), 1, Secret, Timeout);
        using (var intruder = ReductionClient.Connect(server.EndPoint, 0, 1, BulkChannelSecurity.SharedSecret("wrong"), Timeout))
            Assert.Throws<ReductionException>(() => intruder.SumInPlace(new float[4]));
        var data = new float[] { 1, 2, 3 };
        await OnEveryRankAsync(server, 1, client => client.SumInPlace(data));
        Assert.Equal([1f, 2, 3], data);
    }
}
