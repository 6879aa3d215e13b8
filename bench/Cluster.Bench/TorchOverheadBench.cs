using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Cluster.Torch;

namespace Cluster.Bench;

/// <summary>
/// Per-call cost of small ops and throughput of large matmuls through Cluster.Torch, against the
/// same ops from Python with PyTorch (same libtorch) and against a pure C++ loop inside the shim,
/// which is libtorch's own cost: overhead = measured − C++ loop.
/// Targets (issue 2): binding overhead ≤ ½ of Python's; large-op throughput within 5 %.
/// </summary>
internal static class TorchOverheadBench
{
    private static readonly string[] SmallOps = ["add", "mul", "matmul", "view"];

    public static int Run(BenchOptions options)
    {
        int cores = Environment.ProcessorCount;
        var reference = PythonReference.Run(options, "torch_reference.py", options.Iterations.ToString(CultureInfo.InvariantCulture),
            cores.ToString(CultureInfo.InvariantCulture), string.Join(',', options.Sizes));
        if (reference is null) return 1;

        torch.set_num_threads(1);
        using var a = torch.ones([4, 4]).DetachFromDisposeScope();
        using var b = torch.ones([4, 4]).DetachFromDisposeScope();
        Console.WriteLine($"Per-call time of a small op (4×4 float32, 1 thread), best of 5 × {options.Iterations:N0} calls");
        Console.WriteLine($"{"op",-8} {"C++ loop",10} {"Cluster.Torch",14} {"PyTorch/Python",15} {"our overhead",13} {"Python's",10} {"ratio",7} {"target ≤0.5",12}");
        bool ok = true;
        for (int op = 0; op < SmallOps.Length; op++)
        {
            string name = SmallOps[op];
            double native = Best(() => torch.BenchNativeLoop(op, a, b, options.Iterations));
            double ours = PerOp(op, a, b, options.Iterations);
            double python = reference.Value.GetProperty("small").GetProperty(name).GetDouble();
            double ourOverhead = Math.Max(0, ours - native), pyOverhead = Math.Max(1e-9, python - native);
            double ratio = ourOverhead / pyOverhead;
            ok &= ratio <= 0.5;
            Console.WriteLine($"{name,-8} {native,8:F0}ns {ours,12:F0}ns {python,13:F0}ns {ourOverhead,11:F0}ns {pyOverhead,8:F0}ns {ratio,7:F2} {(ratio <= 0.5 ? "met" : "MISSED"),12}");
        }

        torch.set_num_threads(cores);
        Console.WriteLine();
        Console.WriteLine($"Large matmul (float32, {cores} threads), best of 5");
        Console.WriteLine($"{"size",-10} {"Cluster.Torch",14} {"PyTorch/Python",15} {"ratio",7} {"target ≥0.95",13}");
        foreach (var n in options.Sizes)
        {
            double ours = MatmulGflops(n);
            double python = reference.Value.GetProperty("large").GetProperty(n.ToString(CultureInfo.InvariantCulture)).GetDouble();
            double ratio = ours / python;
            ok &= ratio >= 0.95;
            Console.WriteLine($"{$"{n}×{n}",-10} {ours,8:F1} GF/s {python,9:F1} GF/s {ratio,7:F3} {(ratio >= 0.95 ? "met" : "MISSED"),13}");
        }
        Console.WriteLine();
        Console.WriteLine($"libtorch {torch.__version__} (binding) vs PyTorch {reference.Value.GetProperty("version").GetString()} (Python)");
        return ok ? 0 : 1;
    }

    /// <summary>Nanoseconds per call, results freed by a DisposeScope every 100 calls (the idiomatic pattern).</summary>
    private static double PerOp(int op, Tensor a, Tensor b, int iterations)
    {
        Func<Tensor> call = op switch
        {
            0 => () => a.add(b),
            1 => () => a.mul(b),
            2 => () => a.matmul(b),
            _ => () => a.view(-1),
        };
        return Best(() =>
        {
            var sw = Stopwatch.StartNew();
            for (int done = 0; done < iterations; done += 100)
            {
                using var scope = torch.NewDisposeScope();
                for (int i = 0; i < 100; i++) call();
            }
            return sw.Elapsed.TotalNanoseconds / iterations;
        });
    }

    private static double MatmulGflops(int n)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(0);
        var x = torch.randn([n, n], generator: g);
        var y = torch.randn([n, n], generator: g);
        x.matmul(y).Dispose();
        double seconds = Best(() =>
        {
            var sw = Stopwatch.StartNew();
            x.matmul(y).Dispose();
            return sw.Elapsed.TotalSeconds;
        });
        return 2.0 * n * n * n / seconds / 1e9;
    }

    private static double Best(Func<double> measure, int repeats = 5)
    {
        measure(); // warm-up
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++) best = Math.Min(best, measure());
        return best;
    }
}
