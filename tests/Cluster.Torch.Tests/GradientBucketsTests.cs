using Cluster.Torch.Distributed;
using Xunit;

namespace Cluster.Torch.Tests;

/// <summary>The grad-accumulator hooks behind the overlapped all-reduce: while armed, a backward copies each finished
/// gradient (the sum accumulated so far) into its slot and marks a bucket ready once all its parameters are in;
/// unarmed, nothing is copied; a parameter the backward never reaches is filled in by Finish.</summary>
public class GradientBucketsTests
{
    [Fact]
    public void An_armed_backward_fills_the_buckets_it_reaches_and_Finish_the_rest()
    {
        var baseline = Ref.SettledLiveCount();
        using (var scope = torch.NewDisposeScope())
        {
            var w1 = torch.tensor(new float[] { 1, 2, 3 }, [3], requires_grad: true);
            var w2 = torch.tensor(new float[] { 4, 5 }, [2], requires_grad: true);
            var unused = torch.tensor(new float[] { 6, 7 }, [2], requires_grad: true);
            var flat = torch.zeros([8]);
            flat.narrow(0, 7, 1).fill_(9);   // a tail past the parameters: never touched
            using var buckets = new GradientBuckets([w1, w2, unused], [0, 3, 5], [1, 0, 1], 2, flat);
            Tensor Loss() => (w1 * 2).sum() + (w2 * w2).sum();

            Loss().backward();   // unarmed: gradients accumulate, nothing is copied
            Assert.Equal(new float[] { 0, 0, 0, 0, 0, 0, 0, 9 }, flat.Floats());

            buckets.Arm();
            var ready = false;
            var waiter = new Thread(() => ready = buckets.WaitReady(0));   // as the communication thread waits
            waiter.Start();
            Loss().backward();
            Assert.True(waiter.Join(TimeSpan.FromMinutes(1)) && ready, "bucket 0 (w2, reached by backward) was not ready");
            var e = Assert.Throws<TorchException>(() => buckets.WaitReady(1, TimeSpan.FromMilliseconds(20)));
            Assert.Contains("bucket 1 was not ready", e.Message);   // it waits for the parameter backward never reached
            buckets.Finish();
            Assert.True(buckets.WaitReady(1, TimeSpan.Zero));
            // Two backward passes accumulated: 2·2 for w1, 2·2·w2 for w2; the unused parameter has no gradient: zeros.
            Assert.Equal(new float[] { 4, 4, 4, 16, 20, 0, 0, 9 }, flat.Floats());

            buckets.Arm();
            buckets.Abort();
            Assert.False(buckets.WaitReady(0, TimeSpan.Zero));
            Assert.Throws<TorchException>(() => buckets.Finish());   // the aborted round is over

            buckets.Dispose();
            flat.zero_();
            Loss().backward();   // the hooks are gone
            Assert.Equal(new float[8], flat.Floats());
            Assert.Equal(new float[] { 6, 6, 6 }, w1.grad!.Floats());
        }
        Assert.Equal(baseline, Ref.SettledLiveCount());
    }

    [Fact]
    public void Parameters_that_do_not_fit_the_buffer_are_refused()
    {
        using var scope = torch.NewDisposeScope();
        var w = torch.ones([4], requires_grad: true);
        var flat = torch.zeros([3]);
        var e = Assert.Throws<TorchException>(() => new GradientBuckets([w], [0], [0], 1, flat));
        Assert.Contains("does not fit the flat buffer", e.Message);
        var leaf = torch.ones([2]);
        Assert.Throws<TorchException>(() => new GradientBuckets([leaf], [0], [0], 1, flat));
        Assert.Throws<TorchException>(() => new GradientBuckets([torch.ones([2], requires_grad: true)], [0], [1], 1, flat));
    }
}
