using Xunit;

namespace Cluster.Torch.Tests;

public class LifetimeTests
{
    [Fact]
    public void TenThousandOpsInScopesLeaveTheLiveCountWhereItStarted()
    {
        using var x = torch.ones([4, 4]).DetachFromDisposeScope();
        long baseline = Ref.SettledLiveCount();
        for (int s = 0; s < 100; s++)
        {
            using var scope = torch.NewDisposeScope();
            var y = x;
            for (int i = 0; i < 25; i++)
                y = (y * 0.5 + x).matmul(x).softmax_last().sum(1, keepdim: true).expand(4, 4); // 6 ops: 15,000 in all
            Assert.True(torch.LiveTensorCount >= baseline + 100);
        }
        Assert.Equal(baseline, Ref.SettledLiveCount());
    }

    [Fact]
    public void AMovedTensorSurvivesItsScopeAndNestedScopesUnwind()
    {
        long baseline = Ref.SettledLiveCount();
        Tensor kept;
        using (var outer = torch.NewDisposeScope())
        {
            Tensor fromInner;
            using (var inner = torch.NewDisposeScope())
            {
                var temp = torch.ones([3]) * 2;
                fromInner = (temp + 1).MoveToOuterDisposeScope();
                Assert.Equal(1, outer.Count);
            }
            Assert.Equal(new float[] { 3, 3, 3 }, fromInner.Floats());
            kept = (fromInner * 2).MoveToOuterDisposeScope();
        }
        Assert.True(kept.IsDisposed == false);
        Assert.Equal(new float[] { 6, 6, 6 }, kept.Floats());
        Assert.Equal(baseline + 1, Ref.SettledLiveCount());
        kept.Dispose();
        Assert.Equal(baseline, Ref.SettledLiveCount());
    }

    [Fact]
    public void ADisposedTensorRefusesUse()
    {
        Tensor t;
        using (var scope = torch.NewDisposeScope()) t = torch.zeros([2]);
        Assert.True(t.IsDisposed);
        var ex = Assert.Throws<ObjectDisposedException>(() => t.sum());
        Assert.Contains("disposed", ex.Message);
        Assert.Equal("Tensor(disposed)", t.ToString());
    }

    [Fact]
    public void ScopesMustEndInnermostFirst()
    {
        var outer = torch.NewDisposeScope();
        var inner = torch.NewDisposeScope();
        Assert.Throws<InvalidOperationException>(() => outer.Dispose());
        inner.Dispose();
        outer.Dispose();
    }

    [Fact]
    public void FromArrayReleasesItsPinWhenTheTensorDies()
    {
        long baseline = Ref.SettledLiveCount();
        var weak = MakePinnedTensorAndDrop();
        Assert.Equal(baseline, Ref.SettledLiveCount());
        Assert.False(weak.TryGetTarget(out _), "the array is still pinned after its tensor was freed");
    }

    private static WeakReference<float[]> MakePinnedTensorAndDrop()
    {
        var array = new float[1024];
        using (var t = torch.from_array(array).DetachFromDisposeScope()) t.add_(1);
        Assert.Equal(1f, array[0]);
        return new WeakReference<float[]>(array);
    }
}

internal static class TensorTestExtensions
{
    public static Tensor softmax_last(this Tensor t) => torch.nn.functional.softmax(t, -1);
}
