using Xunit;
using F = Cluster.Torch.torch.nn.functional;

namespace Cluster.Torch.Tests;

/// <summary>
/// The CPU dropout draws its mask from a counter-based generator: checked here for the keep rate, independence of
/// neighbouring elements (two share one 64-bit draw), repeatability under a seed and thread count, and gradients.
/// Statistical bounds are 10 standard deviations wide, so a correct generator fails them with negligible probability.
/// </summary>
public class DropoutTests
{
    private const int N = 1_000_000;

    private static bool[] Kept(Tensor y) => y.Floats().Select(v => v != 0).ToArray();

    [Fact]
    public void KeepsOneMinusPAndScalesKeptValuesByItsInverse()
    {
        using var scope = torch.NewDisposeScope();
        foreach (double p in new[] { 0.1, 0.5, 0.9 })
        {
            var y = F.dropout(torch.ones([N]), p, training: true).Floats();
            double kept = y.Count(v => v != 0) / (double)N;
            double sigma = Math.Sqrt(p * (1 - p) / N);
            Assert.InRange(kept, 1 - p - 10 * sigma, 1 - p + 10 * sigma);
            float scale = (float)(1 / (1 - p));
            Assert.All(y.Where(v => v != 0).Distinct(), v => Assert.Equal(scale, v));
        }
    }

    [Fact]
    public void NeighbouringElementsAreIndependent()
    {
        using var scope = torch.NewDisposeScope();
        const double p = 0.3;
        var kept = Kept(F.dropout(torch.ones([N]), p, training: true));
        // Pairs that share one 64-bit draw (2i, 2i+1), pairs across draws (2i+1, 2i+2), and elements 2 apart.
        foreach (var (first, step) in new[] { (0, 1), (1, 1), (0, 2) })
        {
            int both = 0, pairs = 0;
            for (int i = first; i + step < N; i += 2)
            {
                pairs++;
                if (!kept[i] && !kept[i + step]) both++;
            }
            double rate = both / (double)pairs, sigma = Math.Sqrt(p * p * (1 - p * p) / pairs);
            Assert.InRange(rate, p * p - 10 * sigma, p * p + 10 * sigma);
        }
    }

    [Fact]
    public void TheSeedFixesTheMaskWhateverTheThreadCount()
    {
        using var scope = torch.NewDisposeScope();
        int threads = torch.get_num_threads();
        try
        {
            var x = torch.ones([N]);
            torch.manual_seed(5);
            torch.set_num_threads(1);
            var first = Kept(F.dropout(x, 0.2, training: true));
            var next = Kept(F.dropout(x, 0.2, training: true));
            torch.manual_seed(5);
            torch.set_num_threads(Math.Max(2, threads));
            var again = Kept(F.dropout(x, 0.2, training: true));
            Assert.Equal(first, again);
            Assert.NotEqual(first, next);
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }

    [Fact]
    public void GradientIsTheSameMaskAndScale()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.rand([4096], ScalarType.Float64).add(0.5).requires_grad_();
        var y = F.dropout(x, 0.25, training: true);
        (y * 3.0).sum().backward();
        var values = x.Doubles();
        var outputs = y.Doubles();
        var grads = x.grad!.Doubles();
        for (int i = 0; i < values.Length; i++)
        {
            bool kept = outputs[i] != 0;
            Assert.Equal(kept ? values[i] / 0.75 : 0, outputs[i], 12);
            Assert.Equal(kept ? 3.0 / 0.75 : 0, grads[i], 12);
        }
    }

    [Fact]
    public void NonContiguousAndHalfPrecisionInputs()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.arange(1, 1 + 64 * 32, dtype: ScalarType.Float32).view(64, 32).transpose(0, 1);   // strided
        var y = F.dropout(x, 0.5, training: true);
        var expected = x.contiguous().Floats();
        var actual = y.Floats();
        Assert.Equal(new long[] { 32, 64 }, y.shape);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(actual[i] == 0 || actual[i] == expected[i] * 2, $"element {i}: {actual[i]} from {expected[i]}");
        Assert.Contains(actual, v => v == 0);

        var half = F.dropout(torch.ones([1000], ScalarType.BFloat16), 0.5, training: true).to(ScalarType.Float32).Floats();
        Assert.All(half, v => Assert.True(v is 0 or 2, $"bf16 dropout gave {v}"));
    }

    [Fact]
    public void DroppedNaNStaysNaNAndEdgeProbabilities()
    {
        using var scope = torch.NewDisposeScope();
        var nan = torch.full([1000], double.NaN);
        Assert.All(F.dropout(nan, 0.5, training: true).Floats(), v => Assert.True(float.IsNaN(v)));   // as x * mask * scale
        var x = torch.rand([1000]);
        Assert.Equal(x.Floats(), F.dropout(x, 0.0, training: true).Floats());
        Assert.All(F.dropout(x, 1.0, training: true).Floats(), v => Assert.Equal(0f, v));
        Assert.Equal(x.Floats(), F.dropout(x, 0.7, training: false).Floats());
    }
}
