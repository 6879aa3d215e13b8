using Xunit;

namespace Cluster.Torch.Tests;

public class CreationTests
{
    [Fact]
    public void ZerosOnesFullArangeHoldTheirValues()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(new double[6], torch.zeros([2, 3], ScalarType.Float64).Doubles());
        Assert.Equal(Enumerable.Repeat(1.0, 4), torch.ones([4], ScalarType.Float64).Doubles());
        Assert.Equal(Enumerable.Repeat(2.5, 3), torch.full([3], 2.5, ScalarType.Float64).Doubles());
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, torch.arange(5).Longs());
        Assert.Equal(new double[] { 1, 1.5, 2, 2.5 }, torch.arange(1, 3, 0.5, ScalarType.Float64).Doubles());
        var z = torch.zeros([2, 3, 4]);
        Assert.Equal(new long[] { 2, 3, 4 }, z.shape);
        Assert.Equal(3, z.dim());
        Assert.Equal(24, z.numel());
        Assert.Equal(4, z.size(-1));
        Assert.Equal(ScalarType.Float32, z.dtype);
        Assert.Equal(Device.CPU, z.device);
        Assert.False(z.requires_grad);
        Assert.True(torch.zeros([2], requires_grad: true).requires_grad);
        Assert.True(torch.full([2], 3.0, requires_grad: true).is_leaf);
        Assert.True(torch.randn([2], requires_grad: true).requires_grad);
    }

    [Fact]
    public void TensorCopiesSpanAndFromArraySharesMemory()
    {
        using var scope = torch.NewDisposeScope();
        var values = new float[] { 1, 2, 3, 4, 5, 6 };
        var copy = torch.tensor(values, 2, 3);
        var shared = torch.from_array(values, 2, 3);
        values[0] = 100;
        Assert.Equal(1f, copy.Floats()[0]);
        Assert.Equal(100f, shared.Floats()[0]);
        shared.mul_(2);
        Assert.Equal(200f, values[0]);
        Assert.Equal(12f, values[5]);
        Assert.Equal(new long[] { 2, 3 }, shared.shape);
    }

    [Fact]
    public void DataSpanIsTheTensorsMemory()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.zeros([3], ScalarType.Int64);
        t.data<long>()[1] = 42;
        Assert.Equal(new long[] { 0, 42, 0 }, t.Longs());
        var ex = Assert.Throws<TorchException>(() => t.data<float>());
        Assert.Contains("Int64", ex.Message);
        var raw = t.bytes();
        Assert.Equal(24, raw.Length);
        Assert.Equal(42, raw[8]); // little-endian: the low byte of element 1 comes first
        Assert.Throws<TorchException>(() => torch.zeros([2, 3]).transpose(0, 1).bytes()); // not contiguous
        Assert.Equal(0, torch.zeros([0, 3]).bytes().Length);                               // no data pointer at all
        Assert.Empty(torch.zeros([0]).ToArray<float>());
    }

    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.Int64)]
    public void DtypeConversionsRoundTripSmallIntegers(ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var src = torch.tensor(new float[] { -3, 0, 1, 2, 255 });
        var converted = src.to(dtype);
        Assert.Equal(dtype, converted.dtype);
        Assert.Equal(new float[] { -3, 0, 1, 2, 255 }, converted.to(ScalarType.Float32).Floats());
    }

    [Fact]
    public void HalfAndBFloat16ReadAsDotNetTypes()
    {
        using var scope = torch.NewDisposeScope();
        var h = torch.tensor(new float[] { 0.5f, -2f }).to(ScalarType.Float16);
        Assert.Equal(new[] { (Half)0.5f, (Half)(-2f) }, h.ToArray<Half>());
        var b = torch.tensor(new[] { (BFloat16)1.5f, (BFloat16)(-0.25f) }, 2);
        Assert.Equal(ScalarType.BFloat16, b.dtype);
        Assert.Equal(new float[] { 1.5f, -0.25f }, b.to(ScalarType.Float32).Floats());
        // 1 + 2^-9 is not representable in bf16 (7 mantissa bits): rounds to nearest even, 1.0
        Assert.Equal(1.0f, (float)(BFloat16)(1f + 1f / 512));
    }

    [Fact]
    public void BoolTensorsComeFromComparisons()
    {
        using var scope = torch.NewDisposeScope();
        var mask = torch.tensor(new long[] { 1, 5, 3 }).gt(2);
        Assert.Equal(ScalarType.Bool, mask.dtype);
        Assert.Equal(new[] { false, true, true }, mask.ToArray<bool>());
        Assert.Equal(new[] { true, false }, torch.tensor(new[] { true, false }).ToArray<bool>());
    }

    [Fact]
    public void SeededRandomIsReproducibleAndGeneratorsAreIndependentOfTheGlobalSeed()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(7);
        var a = torch.randn([100]).Floats();
        torch.manual_seed(7);
        var b = torch.randn([100]).Floats();
        Assert.Equal(a, b);

        using var g1 = new Generator(123);
        var c = torch.randn([100], generator: g1).Floats();
        torch.manual_seed(999);
        using var g2 = new Generator(123);
        var d = torch.randn([100], generator: g2).Floats();
        Assert.Equal(c, d);
        Assert.NotEqual(a, c);

        // the sample looks like N(0, 1)
        using var g3 = new Generator(1);
        var big = torch.randn([20000], ScalarType.Float64, generator: g3).Doubles();
        Assert.InRange(big.Average(), -0.05, 0.05);
        Assert.InRange(Math.Sqrt(big.Select(v => v * v).Average()), 0.95, 1.05);
    }

    [Fact]
    public void RandAndRandintStayInRange()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(3);
        var u = torch.rand([5000], ScalarType.Float64, generator: g).Doubles();
        Assert.All(u, v => Assert.InRange(v, 0.0, 1.0 - 1e-12));
        Assert.InRange(u.Average(), 0.45, 0.55);
        var ints = torch.randint(5, 9, [5000], generator: g).Longs();
        Assert.All(ints, v => Assert.InRange(v, 5, 8));
        Assert.Equal(new long[] { 5, 6, 7, 8 }, ints.Distinct().Order().ToArray());
        var perm = torch.randperm(10, generator: g).Longs();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), perm.Order());
        var coins = torch.bernoulli(torch.full([4000], 0.25, ScalarType.Float64), g).Doubles();
        Assert.InRange(coins.Average(), 0.2, 0.3);
    }

    [Fact]
    public void ItemAndStrReadValues()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(2.5, torch.scalar_tensor(2.5, ScalarType.Float64).item<double>());
        Assert.Equal(7L, torch.tensor(new long[] { 7 }).sum().item<long>());
        Assert.Contains("1.5", torch.tensor(new float[] { 1.5f }).str());
    }
}
