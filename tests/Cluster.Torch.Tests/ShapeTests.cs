using Xunit;

namespace Cluster.Torch.Tests;

public class ShapeTests
{
    private static Tensor Iota(params long[] shape) =>
        torch.arange(0, shape.Aggregate(1L, (a, b) => a * b), 1, ScalarType.Float64).view(shape);

    [Fact]
    public void ViewsReshapesAndPermutations()
    {
        using var scope = torch.NewDisposeScope();
        var x = Iota(2, 3, 4); // value = 12i + 4j + k
        Assert.Equal(new long[] { 6, 4 }, x.view(6, 4).shape);
        Assert.Equal(new long[] { 2, 12 }, x.view(2, -1).shape);
        var p = x.permute(2, 0, 1); // (4, 2, 3): p[k, i, j] = x[i, j, k]
        Assert.Equal(new long[] { 4, 2, 3 }, p.shape);
        Assert.False(p.is_contiguous());
        Assert.Equal(1 * 12 + 2 * 4 + 3, p[3][1][2].item<double>());
        Assert.True(p.contiguous().is_contiguous());
        Assert.Equal(p.contiguous().Doubles(), p.reshape(24).Doubles());
        Assert.Throws<TorchException>(() => p.view(24)); // view of a non-contiguous layout
        var t = x.transpose(1, 2);
        Assert.Equal(new long[] { 2, 4, 3 }, t.shape);
        Assert.Equal(0 * 12 + 2 * 4 + 1, t[0][1][2].item<double>());
        Assert.Equal(new long[] { 2, 12 }, x.flatten(1).shape);
        // the transpose of the first 2×3 block, read straight from storage
        Assert.Equal(new double[] { 0, 4, 8, 1, 5, 9 }, x.as_strided([2, 3], [1, 4], 0).contiguous().Doubles());
        Assert.Equal(new double[] { 13, 14 }, x.as_strided([2], [1], 13).Doubles());
        Assert.Throws<TorchException>(() => x.as_strided([5], [100], 0));   // past the storage
    }

    [Fact]
    public void SqueezeUnsqueezeExpandRepeat()
    {
        using var scope = torch.NewDisposeScope();
        var x = Iota(3);
        Assert.Equal(new long[] { 1, 3 }, x.unsqueeze(0).shape);
        Assert.Equal(new long[] { 3, 1 }, x.unsqueeze(-1).shape);
        Assert.Equal(new long[] { 3 }, x.unsqueeze(0).unsqueeze(2).squeeze().shape);
        Assert.Equal(new long[] { 3, 1 }, x.unsqueeze(0).unsqueeze(2).squeeze(0).shape);
        var e = x.unsqueeze(0).expand(2, 3);
        Assert.Equal(new double[] { 0, 1, 2, 0, 1, 2 }, e.contiguous().Doubles());
        Assert.Equal(new double[] { 0, 1, 2, 0, 1, 2 }, x.repeat(2).Doubles());
    }

    [Fact]
    public void NarrowSliceSelectIndexSelectGather()
    {
        using var scope = torch.NewDisposeScope();
        var x = Iota(3, 4); // 4i + j
        Assert.Equal(new double[] { 1, 2, 5, 6, 9, 10 }, x.narrow(1, 1, 2).contiguous().Doubles());
        Assert.Equal(new double[] { 0, 2, 4, 6, 8, 10 }, x.slice(1, 0, 100, 2).contiguous().Doubles());
        Assert.Equal(new double[] { 4, 5, 6, 7 }, x.select(0, 1).Doubles());
        Assert.Equal(new double[] { 8, 9, 10, 11, 0, 1, 2, 3 },
            x.index_select(0, torch.tensor(new long[] { 2, 0 })).Doubles());
        var idx = torch.tensor(new long[] { 3, 0, 1 }, 3, 1);
        Assert.Equal(new double[] { 3, 4, 9 }, x.gather(1, idx).Doubles());
        var scattered = torch.zeros([3, 4], ScalarType.Float64).scatter(1, idx, torch.ones([3, 1], ScalarType.Float64));
        Assert.Equal(new double[] { 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0 }, scattered.Doubles());
    }

    [Fact]
    public void CatStackSplitChunk()
    {
        using var scope = torch.NewDisposeScope();
        var a = Iota(2, 2);
        var b = Iota(2, 2) + 10;
        Assert.Equal(new double[] { 0, 1, 2, 3, 10, 11, 12, 13 }, torch.cat([a, b]).Doubles());
        Assert.Equal(new double[] { 0, 1, 10, 11, 2, 3, 12, 13 }, torch.cat([a, b], 1).Doubles());
        Assert.Equal(new long[] { 2, 2, 2 }, torch.stack([a, b], 1).shape);
        var parts = Iota(7).split(3);
        Assert.Equal(new[] { 3L, 3L, 1L }, parts.Select(p => p.numel()));
        Assert.Equal(new double[] { 6 }, parts[2].Doubles());
        var sized = Iota(7).split([2, 5]);
        Assert.Equal(new double[] { 2, 3, 4, 5, 6 }, sized[1].Doubles());
        Assert.Equal(3, Iota(9, 2).chunk(3).Length);
    }
}
