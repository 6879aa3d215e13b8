using Xunit;

namespace Cluster.Torch.Tests;

public class MathTests
{
    private static readonly double[] A = [0.5, -1.25, 2.0, 3.5, -0.75, 1.0];
    private static readonly double[] B = [1.5, 0.25, -2.0];

    private static Tensor T(double[] v, params long[] shape) => torch.tensor(v, shape);

    [Fact]
    public void ArithmeticBroadcastsLikeNumPy()
    {
        using var scope = torch.NewDisposeScope();
        var a = T(A, 2, 3);
        var b = T(B, 3); // broadcast over rows
        Ref.Close(A.Select((v, i) => v + B[i % 3]).ToArray(), a + b);
        Ref.Close(A.Select((v, i) => v - B[i % 3]).ToArray(), a - b);
        Ref.Close(A.Select((v, i) => v * B[i % 3]).ToArray(), a * b);
        Ref.Close(A.Select((v, i) => v / B[i % 3]).ToArray(), a / b);
        Ref.Close(A.Select((v, i) => v + 3 * B[i % 3]).ToArray(), a.add(b, alpha: 3));
        Ref.Close(A.Select(v => 2 - v).ToArray(), 2 - a);
        Ref.Close(A.Select(v => -v).ToArray(), -a);
        Ref.Close(A.Select(v => v * 4 + 1).ToArray(), a * 4 + 1);
        Ref.Close(A.Select(v => Math.Pow(Math.Abs(v), 1.5)).ToArray(), a.abs().pow(1.5));
        Ref.Close(A.Select((v, i) => Math.Max(v, B[i % 3])).ToArray(), a.maximum(b));
        Ref.Close(A.Select(v => Math.Clamp(v, -1, 2)).ToArray(), a.clamp(-1, 2));
        Ref.Close(A.Select(v => v - Math.Floor(v / 0.75) * 0.75).ToArray(), a.remainder(0.75));
    }

    [Fact]
    public void UnaryFunctionsMatchTheirDefinitions()
    {
        using var scope = torch.NewDisposeScope();
        var a = T(A, 6);
        var pos = a.abs() + 0.1;
        var posD = A.Select(v => Math.Abs(v) + 0.1).ToArray();
        Ref.Close(A.Select(v => Math.Exp(v)).ToArray(), a.exp());
        Ref.Close(posD.Select(v => Math.Log(v)).ToArray(), pos.log());
        Ref.Close(posD.Select(v => Math.Sqrt(v)).ToArray(), pos.sqrt());
        Ref.Close(posD.Select(v => 1 / Math.Sqrt(v)).ToArray(), pos.rsqrt());
        Ref.Close(A.Select(v => Math.Tanh(v)).ToArray(), a.tanh());
        Ref.Close(A.Select(v => 1 / (1 + Math.Exp(-v))).ToArray(), a.sigmoid());
        Ref.Close(A.Select(v => Math.Max(v, 0)).ToArray(), a.relu());
        Ref.Close(A.Select(v => v / (1 + Math.Exp(-v))).ToArray(), a.silu());
        Ref.Close(A.Select(Ref.Erf).ToArray(), a.erf(), 1e-12);
        Ref.Close(A.Select(v => Math.Sin(v)).ToArray(), a.sin());
        Ref.Close(A.Select(v => Math.Cos(v)).ToArray(), a.cos());
        Ref.Close(A.Select(v => Math.Floor(v)).ToArray(), a.floor());
        Ref.Close(A.Select(v => Math.Ceiling(v)).ToArray(), a.ceil());
        Ref.Close(A.Select(v => Math.Round(v, MidpointRounding.ToEven)).ToArray(), a.round());
        Ref.Close(A.Select(v => (double)Math.Sign(v)).ToArray(), a.sign());
        Ref.Close(A.Select(v => 1 / v).ToArray(), a.reciprocal());
        Ref.Close(posD.Select(v => Math.Log(1 + v)).ToArray(), pos.log1p());
        Assert.Equal(new[] { false, true }, torch.tensor(new[] { 1.0, double.NaN }).isnan().ToArray<bool>());
    }

    [Fact]
    public void InPlaceOpsChangeTheTensorItself()
    {
        using var scope = torch.NewDisposeScope();
        var a = T(A, 6);
        var same = a.mul_(2).add_(1).sub_(torch.ones([6], ScalarType.Float64), alpha: 0.5);
        Assert.Same(a, same);
        Ref.Close(A.Select(v => v * 2 + 0.5).ToArray(), a);
        a.zero_();
        Assert.All(a.Doubles(), v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void IntegerTensorsStayIntegerWithIntegerScalars()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new long[] { 1, 2, 3 });
        var y = x * 2 + 1;
        Assert.Equal(ScalarType.Int64, y.dtype);
        Assert.Equal(new long[] { 3, 5, 7 }, y.Longs());
        Assert.Equal(new long[] { 0, 1, 1 }, x.floor_divide(2).Longs());
        Assert.Equal(new long[] { 2, 4, 6 }, (x + x).Longs());
        Assert.Equal(new long[] { -1, -2, -3 }, x.sub(x, alpha: 2).Longs());
        Assert.Equal(new long[] { 3, 6, 9 }, x.clone().add_(x, alpha: 2).Longs());
        Assert.Equal(ScalarType.Float32, (x * 0.5).dtype);
        var clamped = x.clamp(0, 2);
        Assert.Equal(ScalarType.Int64, clamped.dtype);
        Assert.Equal(new long[] { 1, 2, 2 }, clamped.Longs());
    }

    [Fact]
    public void ComparisonsWhereAndMaskedFill()
    {
        using var scope = torch.NewDisposeScope();
        var a = T(A, 6);
        var mask = a.gt(0.9);
        Assert.Equal(A.Select(v => v > 0.9), mask.ToArray<bool>());
        Ref.Close(A.Select(v => v > 0.9 ? v : -v).ToArray(), torch.where(mask, a, -a));
        Ref.Close(A.Select(v => v > 0.9 ? -1e4 : v).ToArray(), a.masked_fill(mask, -1e4));
        Assert.Equal(A.Select(v => v == 1.0), a.eq(1.0).ToArray<bool>());
        Assert.Equal(new[] { true, false }, torch.tensor(new[] { true, true }).logical_and(torch.tensor(new[] { true, false })).ToArray<bool>());
    }

    [Fact]
    public void MatmulBmmLinearAndEinsumAgreeWithLoops()
    {
        using var scope = torch.NewDisposeScope();
        double[] x = [1, 2, 3, 4, 5, 6];      // (2, 3)
        double[] w = [1, 0, -1, 2, 1, 0.5];   // (2, 3) as Linear weight: out = x·wᵀ
        double[] bias = [0.5, -1];
        var expected = new double[4];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
            {
                double s = 0;
                for (int k = 0; k < 3; k++) s += x[i * 3 + k] * w[j * 3 + k];
                expected[i * 2 + j] = s;
            }
        var X = T(x, 2, 3);
        var W = T(w, 2, 3);
        Ref.Close(expected, X.matmul(W.transpose(0, 1)));
        Ref.Close(expected.Select((v, i) => v + bias[i % 2]).ToArray(), torch.nn.functional.linear(X, W, T(bias, 2)));
        Ref.Close(expected, torch.einsum("ik,jk->ij", X, W));
        Ref.Close(expected.Concat(expected).ToArray(), torch.stack([X, X]).bmm(torch.stack([W, W]).transpose(1, 2)));
    }

    [Fact]
    public void ReductionsOverAllAndSomeDims()
    {
        using var scope = torch.NewDisposeScope();
        var a = T(A, 2, 3);
        Assert.Equal(A.Sum(), a.sum().item<double>(), 12);
        Assert.Equal(A.Average(), a.mean().item<double>(), 12);
        Ref.Close([A[0] + A[1] + A[2], A[3] + A[4] + A[5]], a.sum(1));
        Ref.Close([A[0] + A[3], A[1] + A[4], A[2] + A[5]], a.sum(0));
        Assert.Equal(new long[] { 2, 1 }, a.mean(1, keepdim: true).shape);
        Assert.Equal(A.Max(), a.max().item<double>());
        Assert.Equal(A.Min(), a.min().item<double>());
        var (values, indices) = a.max(1);
        Ref.Close([2.0, 3.5], values);
        Assert.Equal(new long[] { 2, 0 }, indices.Longs());
        Assert.Equal(new long[] { 2, 0 }, a.argmax(1).Longs());
        Assert.Equal(3L, a.argmax().item<long>());
        var (top, topIdx) = T(A, 6).topk(3);
        Ref.Close([3.5, 2.0, 1.0], top);
        Assert.Equal(new long[] { 3, 2, 5 }, topIdx.Longs());
        Assert.Equal(Math.Sqrt(A.Sum(v => v * v)), a.norm().item<double>(), 12);
        Ref.Close([A[0], A[0] + A[1], A[0] + A[1] + A[2]], T(A[..3], 3).cumsum(0));
        Assert.True(a.gt(-5).all().item<bool>());
        Assert.False(a.gt(5).any().item<bool>());
        Assert.Equal(new[] { false, true }, a.gt(3).any(1).ToArray<bool>());
        Assert.Equal(A.Aggregate(1.0, (p, v) => p * v), a.prod().item<double>(), 12);
        Ref.Close([A[0] * A[1] * A[2], A[3] * A[4] * A[5]], a.prod(1));
        Ref.Close([Math.Max(A[0], A[3]), Math.Max(A[1], A[4]), Math.Max(A[2], A[5])], a.amax(0));
        Ref.Close([A[..3].Min(), A[3..].Min()], a.amin(1));
        Assert.Equal(new long[] { 1, 1 }, a.argmin(1).Longs());
        Assert.Equal(new long[] { 1, 1 }, a.min(1).indices.Longs());
        Ref.Close([A[..3].Sum(v => Math.Abs(v)), A[3..].Sum(v => Math.Abs(v))], a.norm(1, [1]));
        Ref.Close(A.Select(v => Math.Max(v, 0.5)).ToArray(), a.clamp_min(0.5));
        Assert.Equal(ScalarType.Float64, torch.ones([2], ScalarType.Float32).sum(dtype: ScalarType.Float64).dtype);
    }

    [Fact]
    public void TrilTriuKeepTheirTriangles()
    {
        using var scope = torch.NewDisposeScope();
        var ones = torch.ones([3, 3], ScalarType.Float64);
        Assert.Equal(new double[] { 1, 0, 0, 1, 1, 0, 1, 1, 1 }, ones.tril().Doubles());
        Assert.Equal(new double[] { 0, 1, 1, 0, 0, 1, 0, 0, 0 }, ones.triu(1).Doubles());
    }
}
