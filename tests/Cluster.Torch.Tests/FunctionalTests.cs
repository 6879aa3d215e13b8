using Xunit;
using F = Cluster.Torch.torch.nn.functional;

namespace Cluster.Torch.Tests;

public class FunctionalTests
{
    private static readonly double[] Logits = [0.2, -1.0, 3.0, 0.5, 1.5, -0.3, 0.0, 2.2, -2.0, 0.7, 1.1, -0.4];

    [Fact]
    public void SoftmaxAndLogSoftmaxAlongTheLastDim()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(Logits, 3, 4);
        var expected = Logits.Chunk(4).SelectMany(Ref.Softmax).ToArray();
        Ref.Close(expected, F.softmax(x, -1), 1e-12);
        Ref.Close(expected.Select(v => Math.Log(v)).ToArray(), F.log_softmax(x, -1), 1e-12);
        // float16 input, float32 accumulation
        var half = F.softmax(x.to(ScalarType.Float16), -1, ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, half.dtype);
        Ref.Close(expected, half.to(ScalarType.Float64), 2e-3);
    }

    [Fact]
    public void LayerNormNormalisesThenScalesAndShifts()
    {
        using var scope = torch.NewDisposeScope();
        double[] w = [1.5, -0.5, 2.0, 1.0];
        double[] b = [0.1, 0.2, -0.3, 0.0];
        const double eps = 1e-5;
        var expected = Logits.Chunk(4).SelectMany(row =>
        {
            double mean = row.Average();
            double var = row.Select(v => (v - mean) * (v - mean)).Average(); // biased, as LayerNorm
            return row.Select((v, i) => (v - mean) / Math.Sqrt(var + eps) * w[i] + b[i]);
        }).ToArray();
        var y = F.layer_norm(torch.tensor(Logits, 3, 4), [4], torch.tensor(w, 4), torch.tensor(b, 4), eps);
        Ref.Close(expected, y, 1e-10);
    }

    [Fact]
    public void GeluErfAndTanhForms()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(Logits, 12);
        Ref.Close(Logits.Select(v => 0.5 * v * (1 + Ref.Erf(v / Math.Sqrt(2)))).ToArray(), F.gelu(x), 1e-12);
        Ref.Close(Logits.Select(v => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)))).ToArray(),
            F.gelu(x, "tanh"), 1e-12);
        Assert.Throws<ArgumentException>(() => F.gelu(x, "fast"));
    }

    [Fact]
    public void DropoutZeroesAboutPAndRescalesTheRest()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(11);
        var y = F.dropout(torch.ones([10000], ScalarType.Float64), 0.3, training: true).Doubles();
        double zeroFraction = y.Count(v => v == 0) / (double)y.Length;
        Assert.InRange(zeroFraction, 0.27, 0.33);
        Assert.All(y.Where(v => v != 0), v => Assert.Equal(1 / 0.7, v, 12));
        Assert.Equal(Logits, F.dropout(torch.tensor(Logits, 12), 0.3, training: false).Doubles());
    }

    [Fact]
    public void EmbeddingLooksUpRowsAndPaddingRowGetsNoGradient()
    {
        using var scope = torch.NewDisposeScope();
        var weight = torch.tensor(Logits, 4, 3).requires_grad_();
        var idx = torch.tensor(new long[] { 2, 1, 2, 0 });
        var y = F.embedding(idx, weight, padding_idx: 1);
        Ref.Close(Logits[6..9].Concat(Logits[3..6]).Concat(Logits[6..9]).Concat(Logits[0..3]).ToArray(), y.detach());
        y.sum().backward();
        // row 2 used twice, rows 0 once, padding row 1 gets nothing, row 3 unused
        Assert.Equal(new double[] { 1, 1, 1, 0, 0, 0, 2, 2, 2, 0, 0, 0 }, weight.grad!.Doubles());
    }

    private static double[] CrossEntropyRows(double[] logits, long[] target, int classes, double smoothing, long ignore)
    {
        var losses = new List<double>();
        for (int n = 0; n < target.Length; n++)
        {
            if (target[n] == ignore) continue;
            var row = logits.Skip(n * classes).Take(classes).ToArray();
            var logp = Ref.Softmax(row).Select(v => Math.Log(v)).ToArray();
            losses.Add((1 - smoothing) * -logp[target[n]] + smoothing * -logp.Average());
        }
        return losses.ToArray();
    }

    [Fact]
    public void CrossEntropyWithIgnoreIndexLabelSmoothingAndReductions()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(Logits, 3, 4);
        long[] target = [2, -100, 1];
        var t = torch.tensor(target);
        var rows = CrossEntropyRows(Logits, target, 4, 0, -100);
        Assert.Equal(rows.Average(), F.cross_entropy(x, t).item<double>(), 12);
        Assert.Equal(rows.Sum(), F.cross_entropy(x, t, reduction: Reduction.Sum).item<double>(), 12);
        var smoothed = CrossEntropyRows(Logits, target, 4, 0.1, -100);
        Assert.Equal(smoothed.Average(), F.cross_entropy(x, t, label_smoothing: 0.1).item<double>(), 12);
        var none = F.cross_entropy(x, t, reduction: Reduction.None).Doubles();
        Assert.Equal(0.0, none[1]); // the ignored row
        // a custom ignore index
        long[] target2 = [2, 3, 0];
        var rows2 = CrossEntropyRows(Logits, target2, 4, 0, 3);
        Assert.Equal(rows2.Average(), F.cross_entropy(x, torch.tensor(target2), ignore_index: 3).item<double>(), 12);
    }

    [Fact]
    public void MseBceWithLogitsAndNormalize()
    {
        using var scope = torch.NewDisposeScope();
        double[] a = Logits[..6], b = Logits[6..];
        double[] y = [1, 0, 1, 1, 0, 0];
        Assert.Equal(a.Zip(b, (p, q) => (p - q) * (p - q)).Average(),
            F.mse_loss(torch.tensor(a, 6), torch.tensor(b, 6)).item<double>(), 12);
        double Bce(double x, double t) => -(t * Math.Log(1 / (1 + Math.Exp(-x))) + (1 - t) * Math.Log(1 - 1 / (1 + Math.Exp(-x))));
        Assert.Equal(a.Zip(y, Bce).Average(),
            F.binary_cross_entropy_with_logits(torch.tensor(a, 6), torch.tensor(y, 6)).item<double>(), 10);
        var rows = Logits.Chunk(4).SelectMany(r => { var n = Math.Sqrt(r.Sum(v => v * v)); return r.Select(v => v / n); }).ToArray();
        Ref.Close(rows, F.normalize(torch.tensor(Logits, 3, 4), dim: 1), 1e-12);
    }

    private static double[] NaiveAttention(double[] q, double[] k, double[] v, int L, int S, int D, double[]? additiveMask, bool causal)
    {
        var output = new double[L * D];
        for (int i = 0; i < L; i++)
        {
            var scores = new double[S];
            for (int j = 0; j < S; j++)
            {
                double s = 0;
                for (int d = 0; d < D; d++) s += q[i * D + d] * k[j * D + d];
                s /= Math.Sqrt(D);
                if (additiveMask != null) s += additiveMask[i * S + j];
                if (causal && j > i) s = double.NegativeInfinity;
                scores[j] = s;
            }
            var p = Ref.Softmax(scores);
            for (int d = 0; d < D; d++)
                output[i * D + d] = Enumerable.Range(0, S).Sum(j => p[j] * v[j * D + d]);
        }
        return output;
    }

    [Fact]
    public void ScaledDotProductAttentionMatchesTheFormula()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(5);
        const int L = 4, S = 4, D = 8;
        var q = torch.randn([1, 1, L, D], ScalarType.Float64, generator: g);
        var k = torch.randn([1, 1, S, D], ScalarType.Float64, generator: g);
        var v = torch.randn([1, 1, S, D], ScalarType.Float64, generator: g);
        var mask = new double[L * S];
        for (int i = 0; i < L; i++) mask[i * S + 3] = -1e9; // the last key is padding
        var (qd, kd, vd) = (q.Doubles(), k.Doubles(), v.Doubles());

        Ref.Close(NaiveAttention(qd, kd, vd, L, S, D, null, false), F.scaled_dot_product_attention(q, k, v), 1e-10);
        Ref.Close(NaiveAttention(qd, kd, vd, L, S, D, mask, false),
            F.scaled_dot_product_attention(q, k, v, torch.tensor(mask, 1, 1, L, S)), 1e-10);
        Ref.Close(NaiveAttention(qd, kd, vd, L, S, D, null, true), F.scaled_dot_product_attention(q, k, v, is_causal: true), 1e-10);
        // a boolean mask keeps the true positions, and the exact path agrees with the default one
        var keep = torch.tensor(mask.Select(m => m == 0).ToArray(), 1, 1, L, S);
        Ref.Close(NaiveAttention(qd, kd, vd, L, S, D, mask, false), F.exact_attention(q, k, v, keep), 1e-10);
    }
}
