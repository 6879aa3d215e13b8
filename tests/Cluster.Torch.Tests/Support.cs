using Cluster.Torch;
using Xunit;

namespace Cluster.Torch.Tests;

/// <summary>Independent reference maths in plain C# doubles, and comparison helpers.</summary>
internal static class Ref
{
    /// <summary>erf by its Maclaurin series; accurate to ~1e-13 for |x| ≤ 3, which is all the tests use.</summary>
    public static double Erf(double x)
    {
        if (Math.Abs(x) > 3.5) return Math.Sign(x);
        double sum = 0, term = x;
        for (int n = 0; n < 200; n++)
        {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
            if (Math.Abs(term) < 1e-17) break;
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    public static double[] Softmax(double[] row)
    {
        double max = row.Max();
        var e = row.Select(v => Math.Exp(v - max)).ToArray();
        double s = e.Sum();
        return e.Select(v => v / s).ToArray();
    }

    public static void Close(IReadOnlyList<double> expected, IReadOnlyList<double> actual, double tol = 1e-6)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * Math.Max(1, Math.Abs(expected[i])),
                $"element {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }

    public static void Close(IReadOnlyList<double> expected, Tensor actual, double tol = 1e-6) =>
        Close(expected, actual.ToArray<double>(), tol);

    public static double[] Doubles(this Tensor t) => t.ToArray<double>();

    public static float[] Floats(this Tensor t) => t.ToArray<float>();

    public static long[] Longs(this Tensor t) => t.ToArray<long>();

    /// <summary>Settles finalizers so the live-tensor count reflects only what is really alive.</summary>
    public static long SettledLiveCount() => Cluster.Testing.LiveTensors.Settled();
}
