using Cluster.Torch.Optim;
using Xunit;
using static Cluster.Torch.torch.nn;

namespace Cluster.Torch.Tests;

public class OptimTests
{
    private sealed class Mlp : Module<Tensor, Tensor>
    {
        public readonly Linear fc1 = new(1, 32);
        public readonly LayerNorm norm = new(32);
        public readonly Linear fc2 = new(32, 32);
        public readonly Linear out_proj = new(32, 1);

        public Mlp() => RegisterComponents();

        public override Tensor forward(Tensor x) => out_proj.call(fc2.call(norm.call(fc1.call(x)).tanh()).tanh());
    }

    [Fact]
    public void MlpTrainedWithAdamWFitsASine()
    {
        torch.manual_seed(42);
        using var model = new Mlp();
        Tensor x, y;
        using (var data = torch.NewDisposeScope())
        {
            x = torch.arange(-1, 1, 2.0 / 256, ScalarType.Float32).unsqueeze(1).DetachFromDisposeScope();
            y = (x * 3).sin().DetachFromDisposeScope();
        }
        using var optimizer = new AdamW(AdamW.GroupsWithoutDecayOnBiasAndNorm(model, lr: 1e-2, weight_decay: 0.01));
        var schedule = LRScheduler.LinearWithWarmup(optimizer, warmup_steps: 20, total_steps: 600);

        double Loss()
        {
            using var scope = torch.NewDisposeScope();
            using var _ = torch.no_grad();
            return functional.mse_loss(model.call(x), y).item<double>();
        }

        double initial = Loss();
        long liveAfterFirstStep = 0;
        for (int step = 0; step < 600; step++)
        {
            using (var scope = torch.NewDisposeScope())
            {
                optimizer.zero_grad();
                var loss = functional.mse_loss(model.call(x), y);
                loss.backward();
                utils.clip_grad_norm_(model.parameters(), 1.0);
                optimizer.step();
                schedule.step();
            }
            if (step == 0) liveAfterFirstStep = Ref.SettledLiveCount();
        }
        double final = Loss();
        Assert.True(initial > 0.2, $"initial loss {initial}");
        Assert.True(final < 0.005, $"loss went from {initial} to {final}");
        // after the first step (which creates the optimizer's moments) the steps leave exactly what
        // they found: parameters, moments and the data
        Assert.Equal(liveAfterFirstStep, Ref.SettledLiveCount());
        x.Dispose();
        y.Dispose();
    }

    [Fact]
    public void AdamWStepsMatchTheAlgorithm()
    {
        using var scope = torch.NewDisposeScope();
        double[] p0 = [1.0, -2.0, 0.5];
        double[] c = [0.5, 0.1, -3.0]; // loss = Σ c·p², so grad = 2·c·p
        var p = new Parameter(torch.tensor(p0, 3));
        const double lr = 0.1, wd = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        using var opt = new AdamW([p], lr: lr, weight_decay: wd, beta1: b1, beta2: b2, eps: eps);

        var expected = (double[])p0.Clone();
        var m = new double[3];
        var v = new double[3];
        for (int t = 1; t <= 3; t++)
        {
            opt.zero_grad();
            (torch.tensor(c, 3) * p * p).sum().backward();
            opt.step();
            for (int i = 0; i < 3; i++)
            {
                double g = 2 * c[i] * expected[i];
                expected[i] *= 1 - lr * wd;
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                double mHat = m[i] / (1 - Math.Pow(b1, t));
                double vHat = v[i] / (1 - Math.Pow(b2, t));
                expected[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
            Ref.Close(expected, p.detach(), 1e-12);
        }
        Assert.Equal(3, opt.StepCount(p));
        p.Dispose();
    }

    [Fact]
    public void FlattenedParametersStepBitwiseAsEachParameterDoesAndKeepTheirStateDict()
    {
        var baseline = Ref.SettledLiveCount();
        using (var scope = torch.NewDisposeScope())
        {
            torch.manual_seed(7);
            using var perParameter = new Mlp();
            torch.manual_seed(7);
            using var flattened = new Mlp();
            using var a = new AdamW(AdamW.GroupsWithoutDecayOnBiasAndNorm(perParameter, lr: 1e-2, weight_decay: 0.1));
            using var b = new AdamW(AdamW.GroupsWithoutDecayOnBiasAndNorm(flattened, lr: 1e-2, weight_decay: 0.1));
            var order = flattened.parameters().ToList();
            var before = order.Select(p => p.Floats()).ToList();
            b.flatten(order);
            Assert.Equal(order.Sum(p => p.numel()), b.flat_elements);
            for (var i = 0; i < order.Count; i++) Assert.Equal(before[i], order[i].Floats()); // values kept

            using var gen = new Generator(3);
            for (var step = 0; step < 3; step++)
            {
                var grads = perParameter.parameters().Select(p => torch.randn(p.shape, generator: gen)).ToList();
                foreach (var (p, g) in perParameter.parameters().Zip(grads)) p.grad = g;
                a.step();
                b.step_flat(torch.cat(grads.Select(g => g.reshape(-1)).ToList()));
                a.zero_grad();
            }
            // The flattened module's own parameters moved: each element exactly as the per-parameter update moved it.
            foreach (var ((name, p), q) in perParameter.named_parameters().Zip(flattened.parameters()))
                Assert.True(p.Floats().SequenceEqual(q.Floats()), $"{name} differs");
            var (sa, sb) = (a.state_dict(perParameter.named_parameters()), b.state_dict(flattened.named_parameters()));
            Assert.Equal(sa.Keys, sb.Keys);
            foreach (var key in sa.Keys) Assert.True(sa[key].to(ScalarType.Float64).Doubles().SequenceEqual(sb[key].to(ScalarType.Float64).Doubles()), $"{key} differs");

            // A state dict loads back into flattened moments, and a step count that differs between them is refused.
            b.load_state_dict(flattened.named_parameters(), sa);
            Assert.Equal(3, b.StepCount(order[0]));
            var uneven = new Dictionary<string, Tensor>(sa) { [$"{perParameter.named_parameters().First().name}.step"] = torch.tensor(new[] { 2L }, []) };
            Assert.Contains("step counts differ", Assert.Throws<ArgumentException>(() => b.load_state_dict(flattened.named_parameters(), uneven)).Message);
            Assert.Throws<ArgumentException>(() => b.step_flat(torch.zeros([5])));
        }
        Assert.Equal(baseline, Ref.SettledLiveCount());
    }

    [Fact]
    public void DefaultGroupsExemptBiasesAndLayerNorm()
    {
        using var model = new Mlp();
        var groups = AdamW.GroupsWithoutDecayOnBiasAndNorm(model, lr: 1e-3, weight_decay: 0.1);
        Assert.Equal(0.1, groups[0].weight_decay);
        Assert.Equal(0.0, groups[1].weight_decay);
        Assert.Equal(new[] { model.fc1.weight, model.fc2.weight, model.out_proj.weight }, groups[0].parameters);
        Assert.Equal(5, groups[1].parameters.Count); // three biases, LayerNorm weight and bias
        Assert.Contains(model.norm.weight!, groups[1].parameters);
    }

    [Fact]
    public void LearningRateSchedulesFollowHuggingFaceFormulas()
    {
        using var model = new Mlp();
        double At(Func<AdamW, LRScheduler> make, int step)
        {
            using var opt = new AdamW(model.parameters(), lr: 1.0);
            var s = make(opt);
            for (int i = 0; i < step; i++) s.step();
            return s.get_last_lr();
        }
        Func<AdamW, LRScheduler> linear = o => LRScheduler.LinearWithWarmup(o, 10, 110);
        Assert.Equal(0.0, At(linear, 0));
        Assert.Equal(0.5, At(linear, 5), 12);
        Assert.Equal(1.0, At(linear, 10), 12);
        Assert.Equal(0.5, At(linear, 60), 12);
        Assert.Equal(0.0, At(linear, 110), 12);
        Assert.Equal(0.0, At(linear, 150), 12);

        Func<AdamW, LRScheduler> cosine = o => LRScheduler.CosineWithWarmup(o, 10, 110);
        Assert.Equal(0.5, At(cosine, 5), 12);
        Assert.Equal(0.5 * (1 + Math.Cos(Math.PI * 0.25)), At(cosine, 35), 12);
        Assert.Equal(0.5, At(cosine, 60), 12);
        Assert.Equal(0.0, At(cosine, 110), 12);

        Func<AdamW, LRScheduler> poly = o => LRScheduler.PolynomialDecayWithWarmup(o, 10, 110, lr_end: 0.1, power: 2);
        Assert.Equal(0.3, At(poly, 3), 12);
        Assert.Equal(0.9 * 0.25 + 0.1, At(poly, 60), 12);
        Assert.Equal(0.1, At(poly, 200), 12);
    }

    [Fact]
    public void ClipGradNormScalesAllGradientsTogether()
    {
        using var scope = torch.NewDisposeScope();
        var a = new Parameter(torch.zeros([2], ScalarType.Float64));
        var b = new Parameter(torch.zeros([1], ScalarType.Float64));
        (a * torch.tensor(new double[] { 3, 4 }, 2)).sum().backward();
        (b * 12).sum().backward();
        double norm = utils.clip_grad_norm_([a, b], max_norm: 6.5);
        Assert.Equal(13.0, norm, 9);
        double scale = 6.5 / (13 + 1e-6);
        Ref.Close([3 * scale, 4 * scale], a.grad!, 1e-12);
        Ref.Close([12 * scale], b.grad!, 1e-12);
        a.Dispose();
        b.Dispose();
    }

    [Fact]
    public void ClippingAFlatBufferGivesTheNormAndTheGradientsOfClippingEachGradient()
    {
        using var scope = torch.NewDisposeScope();
        using var gen = new Generator(9);
        long[] sizes = [300, 7, 4096, 1];
        var parameters = sizes.Select(n => new Parameter(torch.zeros([n]))).ToList();
        foreach (var p in parameters) p.grad = torch.randn(p.shape, generator: gen) * 3;
        var flat = torch.cat(parameters.Select(p => p.grad!.reshape(-1)).ToList());
        double expected = utils.clip_grad_norm_(parameters, max_norm: 1.0);
        double got = utils.clip_grad_norm_flat_(flat, sizes, max_norm: 1.0);
        Assert.Equal(expected, got); // bitwise: each gradient's norm, then the norm of those
        Assert.True(torch.cat(parameters.Select(p => p.grad!.reshape(-1)).ToList()).Floats().SequenceEqual(flat.Floats()));
        Assert.Contains("add up to", Assert.Throws<TorchException>(() => utils.clip_grad_norm_flat_(flat, [3, 4], 1.0)).Message);
        foreach (var p in parameters) p.Dispose();
    }
}
