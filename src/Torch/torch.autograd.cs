using Cluster.Torch.Native;

namespace Cluster.Torch;

public static partial class torch
{
    public static class autograd
    {
        /// <summary>
        /// Times every libtorch op the process runs until disposed (torch.autograd.profiler), and
        /// then writes the events to <paramref name="path"/> as a Chrome trace. One at a time.
        /// </summary>
        public static IDisposable profile(string path)
        {
            TorchException.Check(LibTorch.ct_profiler_start(path));
            return new ProfileScope();
        }

        private sealed class ProfileScope : IDisposable
        {
            private bool done;
            public void Dispose()
            {
                if (done) return;
                done = true;
                TorchException.Check(LibTorch.ct_profiler_stop());
            }
        }

        /// <summary>
        /// Compares backward's gradients with central finite differences, in float64. The function's
        /// output is reduced to a scalar with fixed random weights so every output element is tested.
        /// Returns the largest absolute difference; throws when it exceeds atol + rtol·|numeric|.
        /// </summary>
        public static double gradcheck(Func<Tensor[], Tensor> function, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5,
            double rtol = 1e-3, ulong seed = 0)
        {
            foreach (var x in inputs)
                if (x.dtype == ScalarType.Float64 && !x.requires_grad)
                    throw new ArgumentException("gradcheck: float64 inputs must require grad (integer inputs are passed through)");
            using var scope = NewDisposeScope();
            using var gen = new Generator(seed);
            Tensor? weights = null;

            double Objective()
            {
                using var inner = NewDisposeScope();
                using var _ = no_grad();
                var y = function(inputs);
                weights ??= rand(y.shape, ScalarType.Float64, generator: gen).MoveToOuterDisposeScope();
                return (y * weights).sum().item<double>();
            }

            // analytic: d/dx sum(w * f(x))
            Objective();
            foreach (var x in inputs) x.clear_grad();
            (function(inputs) * weights!).sum().backward();

            double worst = 0;
            foreach (var x in inputs)
            {
                if (!x.requires_grad) continue;
                var analytic = x.grad?.ToArray<double>() ?? new double[x.numel()];
                var values = x.data<double>();
                for (int i = 0; i < values.Length; i++)
                {
                    double original = values[i];
                    values[i] = original + eps;
                    double plus = Objective();
                    values[i] = original - eps;
                    double minus = Objective();
                    values[i] = original;
                    double numeric = (plus - minus) / (2 * eps);
                    double diff = Math.Abs(numeric - analytic[i]);
                    worst = Math.Max(worst, diff);
                    if (diff > atol + rtol * Math.Abs(numeric))
                        throw new TorchException($"gradcheck: element {i} of an input of shape [{string.Join(", ", x.shape)}]: " +
                                                 $"analytic {analytic[i]:G6} vs numeric {numeric:G6}");
                }
            }
            return worst;
        }
    }
}
