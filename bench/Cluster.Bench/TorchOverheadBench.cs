using System.Diagnostics;
using System.Globalization;
using Cluster.Torch;

namespace Cluster.Bench;

/// <summary>
/// Per-call cost of small ops and throughput of large matmuls through Cluster.Torch, against the
/// same ops from Python with PyTorch (same libtorch) and a pure C++ loop inside the shim, which is
/// libtorch's own cost: overhead = measured − C++ loop. The three alternate measurement by
/// measurement (the reference is a live child process), so all see the same machine.
/// Targets (issue 2): binding overhead ≤ ½ of Python's; large-op throughput within 5 %.
/// </summary>
internal static class TorchOverheadBench
{
    private static readonly string[] SmallOps = ["add", "mul", "matmul", "view"];
    private const int Rounds = 5;
    private const int LargeRounds = 15; // one matmul is tens of milliseconds: more samples to find the machine's best

    public static int Run(BenchOptions options)
    {
        int cores = Environment.ProcessorCount;
        using var reference = new PythonReference(options, "torch_reference.py");
        using var a = torch.ones([4, 4]).DetachFromDisposeScope();
        using var b = torch.ones([4, 4]).DetachFromDisposeScope();
        int n = options.Iterations;

        Console.WriteLine($"Per-call time of a small op (4×4 float32, 1 thread): best of {Rounds} alternating rounds of {n:N0} calls each");
        Console.WriteLine($"{"op",-8} {"C++ loop",10} {"Cluster.Torch",14} {"PyTorch/Python",15} {"our overhead",13} {"Python's",10} {"ratio",7} {"target ≤0.5",12}");
        bool ok = true;
        for (int op = 0; op < SmallOps.Length; op++)
        {
            string name = SmallOps[op];
            double native = double.MaxValue, ours = double.MaxValue, python = double.MaxValue;
            for (int round = 0; round <= Rounds; round++) // round 0 warms up
            {
                torch.set_num_threads(1);
                double c = torch.BenchNativeLoop(op, a, b, n), o = PerOp(op, a, b, n), p = reference.Ask($"small {name} {n}");
                if (round == 0) continue;
                (native, ours, python) = (Math.Min(native, c), Math.Min(ours, o), Math.Min(python, p));
            }
            double ourOverhead = Math.Max(0, ours - native), pyOverhead = Math.Max(1e-9, python - native);
            double ratio = ourOverhead / pyOverhead;
            ok &= ratio <= 0.5;
            Console.WriteLine($"{name,-8} {native,8:F0}ns {ours,12:F0}ns {python,13:F0}ns {ourOverhead,11:F0}ns {pyOverhead,8:F0}ns {ratio,7:F2} {(ratio <= 0.5 ? "met" : "MISSED"),12}");
        }

        Console.WriteLine();
        Console.WriteLine($"Large matmul (float32, {cores} threads): best of {LargeRounds} alternating rounds");
        Console.WriteLine($"{"size",-10} {"Cluster.Torch",14} {"PyTorch/Python",15} {"ratio",7} {"target ≥0.95",13}");
        foreach (var size in options.Sizes)
        {
            using var scope = torch.NewDisposeScope();
            using var g = new Generator(0);
            var x = torch.randn([size, size], generator: g);
            var y = torch.randn([size, size], generator: g);
            double ours = 0, python = 0;
            for (int round = 0; round <= LargeRounds; round++)
            {
                torch.set_num_threads(cores);
                double o = MatmulGflops(x, y), p = reference.Ask($"large {size} {cores}");
                if (round == 0) continue;
                (ours, python) = (Math.Max(ours, o), Math.Max(python, p));
            }
            double ratio = ours / python;
            ok &= ratio >= 0.95;
            Console.WriteLine($"{$"{size}×{size}",-10} {ours,8:F1} GF/s {python,9:F1} GF/s {ratio,7:F3} {(ratio >= 0.95 ? "met" : "MISSED"),13}");
        }
        Console.WriteLine();
        Console.WriteLine($"libtorch {torch.__version__} (binding) vs PyTorch {reference.Version} (Python)");
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
        var sw = Stopwatch.StartNew();
        for (int done = 0; done < iterations; done += 100)
        {
            using var scope = torch.NewDisposeScope();
            for (int i = 0; i < 100; i++) call();
        }
        return sw.Elapsed.TotalNanoseconds / iterations;
    }

    private static double MatmulGflops(Tensor x, Tensor y)
    {
        long n = x.size(0);
        var sw = Stopwatch.StartNew();
        x.matmul(y).Dispose();
        return 2.0 * n * n * n / sw.Elapsed.TotalSeconds / 1e9;
    }
}
