using System.Collections.Concurrent;
using Cluster.Torch;
using Cluster.Training.Reduction;

namespace Cluster.Training.Tests;

/// <summary>The overlapped reduction's mechanics on three parameters, one bucket each, with a reducer that records
/// each round and doubles the bucket (two identical replicas): the buckets that backward finished are reduced before
/// the step asks for the result, in order; the one it never reached waits for Complete; a failing round reports its
/// error and the next round works; an abandoned one reduces nothing more.</summary>
public sealed class BucketedReductionTests
{
    sealed class RecordingReducer : IGradientReducer
    {
        public BlockingCollection<long> Rounds { get; } = new();
        public int FailOnRound { get; set; } = -1;
        int _rounds;

        public int Replicas => 2;
        public int Rank => 0;

        public void SumInPlace(Tensor flat)
        {
            if (_rounds++ == FailOnRound) throw new IOException("peer gone");
            using (torch.no_grad()) flat.mul_(2);
            Rounds.Add(flat.numel());
        }

        public void Broadcast(Tensor tensor) { }
        public void Dispose() => Rounds.Dispose();
    }

    static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);

    static long Next(RecordingReducer reducer)
        => reducer.Rounds.TryTake(out var n, Guard) ? n : throw new TimeoutException("no bucket was reduced within the guard");

    [Fact]
    public void Buckets_that_backward_finished_are_reduced_before_the_step_waits()
    {
        var baseline = Cluster.Testing.LiveTensors.Settled();
        using (var scope = torch.NewDisposeScope())
        {
            var unused = torch.ones([4], requires_grad: true);
            var a = torch.tensor(new float[] { 1, 2, 3, 4 }, [4], requires_grad: true);
            var b = torch.tensor(new float[] { 5, 6, 7, 8 }, [4], requires_grad: true);
            using var reducer = new RecordingReducer();
            // A bucket of 1 byte: each parameter is its own, taken from the last (b + the 1-element tail, a, unused).
            using var buckets = new BucketedReduction([unused, a, b], 13, reducer, 1e-6, Device.CPU);
            Assert.Equal(new long[] { 5, 4, 4 }, buckets.BucketSizes);

            buckets.Flat.narrow(0, 12, 1).fill_(3);   // the caller's tail
            buckets.Begin();
            (a * b).sum().backward();
            Assert.Equal(5, Next(reducer));   // b's bucket and a's, reduced while the step has not asked yet
            Assert.Equal(4, Next(reducer));
            Assert.False(reducer.Rounds.TryTake(out _, TimeSpan.FromMilliseconds(100)), "the unused parameter's bucket was reduced before Complete");
            var timing = buckets.Complete();
            Assert.Equal(4, Next(reducer));
            Assert.True(timing.Seconds >= 0 && timing.ExposedSeconds >= 0);
            Assert.Equal(new float[] { 0, 0, 0, 0, 10, 12, 14, 16, 2, 4, 6, 8, 6 }, buckets.Flat.ToArray<float>());

            reducer.FailOnRound = 4;   // the second round's second bucket
            buckets.Begin();
            (a * b).sum().backward();
            Assert.Equal("peer gone", Assert.Throws<IOException>(() => buckets.Complete()).Message);
            while (reducer.Rounds.TryTake(out _)) { }

            buckets.Begin();   // a round after a failed one starts afresh
            (a * b).sum().backward();
            buckets.Complete();
            Assert.Equal(3, reducer.Rounds.Count);
            while (reducer.Rounds.TryTake(out _)) { }

            buckets.Begin();
            buckets.Abandon();   // backward failed before it reached anything
            Assert.False(reducer.Rounds.TryTake(out _, TimeSpan.FromMilliseconds(100)), "an abandoned round reduced a bucket");
        }
        Assert.Equal(baseline, Cluster.Testing.LiveTensors.Settled());
    }
}
