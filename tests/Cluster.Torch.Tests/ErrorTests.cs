using Xunit;
using F = Cluster.Torch.torch.nn.functional;

namespace Cluster.Torch.Tests;

/// <summary>Bad input reaches C# as a TorchException with libtorch's message, and nothing is left behind.</summary>
public class ErrorTests
{
    private static void StillWorks()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(6f, torch.ones([2, 3]).sum().item<float>());
    }

    [Fact]
    public void MismatchedShapesNameBothShapes()
    {
        long baseline = Ref.SettledLiveCount();
        using (var scope = torch.NewDisposeScope())
        {
            var a = torch.zeros([2, 3]);
            var b = torch.zeros([4, 5]);
            var ex = Assert.Throws<TorchException>(() => a + b);
            Assert.Contains("[2, 3]", ex.Message);
            Assert.Contains("[4, 5]", ex.Message);
            var mm = Assert.Throws<TorchException>(() => a.matmul(b));
            Assert.Contains("2x3 and 4x5", mm.Message);
            var lin = Assert.Throws<TorchException>(() => F.linear(torch.zeros([2, 7]), torch.zeros([3, 4])));
            Assert.Contains("[2, 7]", lin.Message);
            Assert.Contains("[3, 4]", lin.Message);
            Assert.Throws<TorchException>(() => a.view(7));
            Assert.Throws<TorchException>(() => torch.cat([a, torch.zeros([2, 4])]));
        }
        Assert.Equal(baseline, Ref.SettledLiveCount());
        StillWorks();
    }

    [Fact]
    public void WrongDtypesAreRefused()
    {
        using var scope = torch.NewDisposeScope();
        var weights = torch.zeros([4, 2]);
        var ex = Assert.Throws<TorchException>(() => F.embedding(torch.zeros([3]), weights));
        Assert.Contains("indices", ex.Message);
        Assert.Throws<TorchException>(() => torch.zeros([2, 2]).matmul(torch.zeros([2, 2], ScalarType.Int64)));
        Assert.Throws<TorchException>(() => F.cross_entropy(torch.zeros([2, 3]), torch.zeros([2])));
        StillWorks();
    }

    [Fact]
    public void OutOfRangeIndicesAreRefused()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.zeros([3, 2]);
        var select = Assert.Throws<TorchException>(() => x.select(0, 5));
        Assert.Contains("out of range", select.Message);
        var indexed = Assert.Throws<TorchException>(() => x.index_select(0, torch.tensor(new long[] { 10 })));
        Assert.Contains("out of range", indexed.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Throws<TorchException>(() => F.embedding(torch.tensor(new long[] { 4 }), torch.zeros([4, 2])));
        Assert.Throws<TorchException>(() => x.size(2));
        Assert.Throws<TorchException>(() => x.transpose(0, 3));
        StillWorks();
    }

    [Fact]
    public void CudaOnAMachineWithoutItSaysSo()
    {
        using var scope = torch.NewDisposeScope();
        // with CUDA present, ask for a device past the last one instead
        var device = Device.CUDA(torch.cuda.is_available() ? torch.cuda.device_count() : 0);
        var ex = Assert.Throws<TorchException>(() => torch.zeros([2], device: device));
        Assert.Contains(device.ToString(), ex.Message);
        Assert.Contains(torch.cuda.is_available() ? "CUDA device(s) are present" : "CUDA is not available", ex.Message);
        Assert.Throws<TorchException>(() => torch.ones([2]).to(device));
        StillWorks();
    }

    [Fact]
    public void BadArgumentsInCSharpAreCaughtBeforeTheNativeCall()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Throws<TorchException>(() => torch.tensor(new float[5], 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => F.dropout(torch.ones([2]), 1.5));
        Assert.Throws<ArgumentException>(() => Device.Parse("tpu:0"));
        Assert.Equal(Device.CUDA(1), Device.Parse("cuda:1"));
        var backward = Assert.Throws<TorchException>(() => torch.ones([3], requires_grad: true).mul(2).backward());
        Assert.Contains("scalar", backward.Message);
    }
}
