using Xunit;
using F = Cluster.Torch.torch.nn.functional;

namespace Cluster.Torch.Tests;

/// <summary>Backward against central finite differences in float64, for each differentiable building block.</summary>
public class GradCheckTests
{
    private static Tensor Input(Generator g, params long[] shape) =>
        torch.randn(shape, ScalarType.Float64, generator: g, requires_grad: true);

    [Fact]
    public void LayerNorm()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(1);
        var worst = torch.autograd.gradcheck(x => F.layer_norm(x[0], [5], x[1], x[2], 1e-5),
            [Input(g, 3, 5), Input(g, 5), Input(g, 5)]);
        Assert.True(worst < 1e-6, $"worst difference {worst}");
    }

    [Theory]
    [InlineData("none")]
    [InlineData("tanh")]
    public void Gelu(string approximate)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(2);
        torch.autograd.gradcheck(x => F.gelu(x[0], approximate), [Input(g, 4, 6)]);
    }

    [Fact]
    public void SoftmaxAndLogSoftmax()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(3);
        torch.autograd.gradcheck(x => F.softmax(x[0], -1), [Input(g, 3, 7)]);
        torch.autograd.gradcheck(x => F.log_softmax(x[0], 0), [Input(g, 3, 7)]);
    }

    [Fact]
    public void AttentionWithMaskAndCausal()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(4);
        var mask = torch.zeros([1, 1, 3, 3], ScalarType.Float64);
        mask.select(3, 2).fill_(-1e9);
        torch.autograd.gradcheck(x => F.scaled_dot_product_attention(x[0], x[1], x[2], mask),
            [Input(g, 2, 2, 3, 4), Input(g, 2, 2, 3, 4), Input(g, 2, 2, 3, 4)]);
        torch.autograd.gradcheck(x => F.scaled_dot_product_attention(x[0], x[1], x[2], is_causal: true),
            [Input(g, 1, 2, 3, 4), Input(g, 1, 2, 3, 4), Input(g, 1, 2, 3, 4)]);
    }

    [Fact]
    public void CrossEntropyWithSmoothingAndIgnoredTargets()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(5);
        var target = torch.tensor(new long[] { 1, -100, 4, 0 });
        torch.autograd.gradcheck(x => F.cross_entropy(x[0], target, label_smoothing: 0.1), [Input(g, 4, 5)]);
    }

    [Fact]
    public void EmbeddingWeight()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(6);
        var idx = torch.tensor(new long[] { 0, 3, 3, 4 }); // the padding row is not looked up: it gets no gradient by design
        torch.autograd.gradcheck(x => F.embedding(idx, x[0], padding_idx: 1), [Input(g, 5, 3)]);
    }

    [Fact]
    public void LinearInputWeightAndBias()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(7);
        torch.autograd.gradcheck(x => F.linear(x[0], x[1], x[2]), [Input(g, 2, 3, 4), Input(g, 5, 4), Input(g, 5)]);
    }

    [Fact]
    public void GradcheckCatchesAWrongGradient()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(8);
        // detach() hides one factor from autograd: backward gives x, the true derivative is 2x.
        var ex = Assert.Throws<TorchException>(() => torch.autograd.gradcheck(x => x[0] * x[0].detach(), [Input(g, 4)]));
        Assert.Contains("analytic", ex.Message);
    }
}
