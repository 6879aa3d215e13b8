using Xunit;

namespace Cluster.Torch.Tests;

public class GradModeTests
{
    [Fact]
    public void NoGradStopsRecordingAndRestoresOnDispose()
    {
        using var scope = torch.NewDisposeScope();
        var w = torch.ones([3], requires_grad: true);
        Assert.True(torch.is_grad_enabled());
        using (torch.no_grad())
        {
            Assert.False(torch.is_grad_enabled());
            Assert.False((w * 2).requires_grad);
            using (torch.enable_grad())
                Assert.True((w * 2).requires_grad);
            Assert.False(torch.is_grad_enabled());
        }
        Assert.True(torch.is_grad_enabled());
        Assert.True((w * 2).requires_grad);
    }

    [Fact]
    public void InferenceModeProducesTensorsOutsideAutograd()
    {
        using var scope = torch.NewDisposeScope();
        var w = torch.ones([3], requires_grad: true);
        Tensor y;
        using (torch.inference_mode())
        {
            y = w * 2;
            Assert.False(y.requires_grad);
            Assert.False(torch.is_grad_enabled());
        }
        Assert.True(torch.is_grad_enabled());
        Assert.Equal(new float[] { 2, 2, 2 }, y.Floats());
        // an inference tensor can never join a graph that records its use for backward
        Assert.Throws<TorchException>(() => (y * w).sum().backward());
    }

    [Fact]
    public void DetachCutsTheGraphAndGradAccumulates()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new double[] { 1, 2 }, requires_grad: true, shape: [2]);
        Assert.True(x.is_leaf);
        var y = (x * x).sum();
        Assert.False(y.is_leaf);
        Assert.False(x.detach().requires_grad);
        y.backward(retain_graph: true);
        Ref.Close([2, 4], x.grad!);
        y.backward();
        Ref.Close([4, 8], x.grad!);     // gradients add up until cleared
        x.clear_grad();
        Assert.Null(x.grad);
        (x * 3).sum().backward(torch.scalar_tensor(2, ScalarType.Float64));
        Ref.Close([6, 6], x.grad!);     // an explicit output gradient scales the result
    }
}
