using Xunit;

namespace Cluster.Torch.Tests;

public class AutocastTests
{
    [Fact]
    public void AMatmulUnderAutocastRunsInBfloat16OnBfloat16RoundedInputs()
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(11);
        var x = torch.randn([4, 32], generator: generator);
        var w = torch.randn([8, 32], generator: generator);
        Tensor y;
        using (torch.autocast(Device.CPU)) y = torch.nn.functional.linear(x, w);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        Assert.Equal(ScalarType.Float32, torch.nn.functional.linear(x, w).dtype); // off again outside

        // The reference: the inputs rounded to bf16, the products summed in double, the sum rounded to bf16 once.
        // Accumulating in bf16 or skipping the input rounding would be off by more than one bf16 step.
        float[] xs = x.Floats(), ws = w.Floats(), ys = y.to(ScalarType.Float32).Floats();
        static double Bf(float v) => (float)(BFloat16)v;
        for (var i = 0; i < 4; i++)
            for (var j = 0; j < 8; j++)
            {
                double sum = 0;
                for (var k = 0; k < 32; k++) sum += Bf(xs[i * 32 + k]) * Bf(ws[j * 32 + k]);
                var expected = Bf((float)sum);
                Assert.True(Math.Abs(ys[i * 8 + j] - expected) <= Math.Abs(expected) / 128 + 1e-6,
                    $"[{i},{j}]: {ys[i * 8 + j]} against {expected}");
            }
    }

    [Fact]
    public void ScopesNestAndRestoreWhatWasBefore()
    {
        Assert.False(torch.is_autocast_enabled(Device.CPU));
        using (torch.autocast(Device.CPU))
        {
            Assert.True(torch.is_autocast_enabled(Device.CPU));
            using (torch.autocast(Device.CPU)) Assert.True(torch.is_autocast_enabled(Device.CPU));
            Assert.True(torch.is_autocast_enabled(Device.CPU)); // the inner scope left the outer one on
            Assert.False(torch.is_autocast_enabled(Device.CUDA())); // only the device asked for
        }
        Assert.False(torch.is_autocast_enabled(Device.CPU));
        var error = Assert.Throws<TorchException>(() => torch.autocast(Device.CPU, ScalarType.Float64));
        Assert.Contains("bfloat16 or float16", error.Message);
        Assert.False(torch.is_autocast_enabled(Device.CPU)); // a refused scope changed nothing
    }

    [Fact]
    public void Float32ParametersGetFloat32GradientsAndNoTensorIsLeftBehind()
    {
        var baseline = Ref.SettledLiveCount();
        using (var scope = torch.NewDisposeScope())
        {
            using var generator = new Generator(5);
            var w = torch.randn([8, 16], generator: generator, requires_grad: true);
            var x = torch.randn([4, 16], generator: generator);
            Tensor loss;
            using (torch.autocast(Device.CPU)) loss = torch.nn.functional.linear(x, w).to(ScalarType.Float32).pow(2).sum();
            loss.backward();
            Assert.Equal(ScalarType.Float32, w.dtype);
            Assert.Equal(ScalarType.Float32, w.grad!.dtype);
            // d/dw sum((x wᵀ)²) = 2 (x wᵀ)ᵀ x: the bf16 forward keeps it within a few bf16 steps of float32's
            var exact = (x.matmul(w.detach().transpose(0, 1)).transpose(0, 1).matmul(x) * 2).Floats();
            var got = w.grad!.Floats();
            var scale = exact.Max(Math.Abs);
            for (var i = 0; i < exact.Length; i++) Assert.True(Math.Abs(got[i] - exact[i]) <= scale * 0.03, $"grad[{i}]: {got[i]} against {exact[i]}");
        }
        Assert.Equal(baseline, Ref.SettledLiveCount());
    }
}
