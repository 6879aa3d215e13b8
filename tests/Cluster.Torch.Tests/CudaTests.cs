using Cluster.Testing;
using Cluster.Torch.Distributed;
using Cluster.Torch.Optim;
using Xunit;
using F = Cluster.Torch.torch.nn.functional;

namespace Cluster.Torch.Tests;

/// <summary>Run where libtorch sees a GPU; elsewhere each shows as skipped with the reason.</summary>
public class CudaTests
{
    private static readonly Device Gpu = Device.CUDA(0);

    [CudaFact]
    public void TensorsMoveToTheGpuAndBack()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new float[] { 1, 2, 3 });
        var g = x.to(Gpu);
        Assert.Equal(Gpu, g.device);
        Assert.Equal(new float[] { 2, 4, 6 }, (g * 2).Floats());
    }

    [CudaFact]
    public void GpuMatmulAndAttentionAgreeWithCpu()
    {
        using var scope = torch.NewDisposeScope();
        using var gen = new Generator(1);
        var a = torch.randn([64, 64], ScalarType.Float64, generator: gen);
        var b = torch.randn([64, 64], ScalarType.Float64, generator: gen);
        Ref.Close(a.matmul(b).Doubles(), a.to(Gpu).matmul(b.to(Gpu)).Doubles(), 1e-10);
        var q = torch.randn([2, 4, 16, 32], generator: gen);
        var cpu = F.exact_attention(q, q, q);
        var gpu = F.scaled_dot_product_attention(q.to(Gpu), q.to(Gpu), q.to(Gpu));
        Ref.Close(cpu.to(ScalarType.Float64).Doubles(), gpu.to(ScalarType.Float64).Doubles(), 1e-4);
    }

    [CudaFact]
    public void AutocastRunsGpuMatmulsAndAttentionInBfloat16AndLeavesTheCpuAlone()
    {
        using var scope = torch.NewDisposeScope();
        using var gen = new Generator(3);
        var x = torch.randn([8, 64], generator: gen);
        var w = torch.randn([32, 64], generator: gen);
        var q = torch.randn([2, 4, 16, 32], generator: gen).to(Gpu);
        using (torch.autocast(Gpu))
        {
            Assert.True(torch.is_autocast_enabled(Gpu));
            Assert.False(torch.is_autocast_enabled(Device.CPU));
            var y = F.linear(x.to(Gpu), w.to(Gpu));
            Assert.Equal(ScalarType.BFloat16, y.dtype);
            Assert.Equal(ScalarType.Float32, F.linear(x, w).dtype); // CPU tensors: not this scope's device
            Assert.Equal(ScalarType.BFloat16, F.scaled_dot_product_attention(q, q, q).dtype);
            // within bf16 rounding of the float32 product (a few steps of 2⁻⁸ relative to the row's scale)
            var exact = x.matmul(w.transpose(0, 1)).Floats();
            var got = y.to(ScalarType.Float32).Floats();
            var scale = exact.Max(Math.Abs);
            for (var i = 0; i < exact.Length; i++) Assert.True(Math.Abs(got[i] - exact[i]) <= scale * 0.02, $"[{i}] {got[i]} against {exact[i]}");
        }
        Assert.False(torch.is_autocast_enabled(Gpu));
    }

    [CudaFact]
    public void SeededGeneratorGivesTheSameNumbersOnEveryDevice()
    {
        using var scope = torch.NewDisposeScope();
        using var g1 = new Generator(9);
        using var g2 = new Generator(9);
        Assert.Equal(torch.randn([16], generator: g1).Floats(), torch.randn([16], device: Gpu, generator: g2).Floats());
    }

    [CudaFact]
    public void AdamWTrainsOnTheGpu()
    {
        using var scope = torch.NewDisposeScope();
        var p = new torch.nn.Parameter(torch.ones([4], device: Gpu));
        using var opt = new AdamW([p], lr: 0.1, weight_decay: 0);
        for (int i = 0; i < 50; i++)
        {
            using var step = torch.NewDisposeScope();
            opt.zero_grad();
            (p * p).sum().backward();
            opt.step();
        }
        Assert.All(p.Floats(), v => Assert.InRange(v, -0.2f, 0.2f));
        p.Dispose();
    }

    [CudaFact]
    public void NcclCollectivesRunOnTheGpu()
    {
        // One GPU allows one NCCL rank (NCCL refuses two ranks on one device), so this shows the
        // NCCL build, link and calls work end to end; the sums across ranks are checked with Gloo.
        Assert.True(ProcessGroup.IsAvailable(Backend.Nccl), "this CUDA build of libclustertorch has no NCCL");
        using var scope = torch.NewDisposeScope();
        using var store = new TCPStore("127.0.0.1", 0, isServer: true, timeout: TimeSpan.FromSeconds(60));
        using var group = ProcessGroup.Create(Backend.Nccl, store, rank: 0, size: 1, timeout: TimeSpan.FromSeconds(60));
        var t = torch.tensor(new float[] { 1.5f, -2f, 3f }).to(Gpu);
        group.all_reduce(t);
        group.all_reduce(t, ReduceOp.Average);
        group.broadcast(t, root: 0);
        var gathered = group.all_gather(t);
        group.barrier();
        Assert.Equal(Gpu, t.device);
        Assert.Equal(new float[] { 1.5f, -2f, 3f }, t.Floats());
        Assert.Equal(new float[] { 1.5f, -2f, 3f }, Assert.Single(gathered).Floats());
    }
}
