using System.Diagnostics;
using System.Globalization;
using Cluster.Model.Configuration;
using Cluster.Model.Encoder;
using Cluster.Model.Roberta;
using Cluster.Torch;

namespace Cluster.Bench;

/// <summary>
/// RobertaModel (roberta-base config, random weights, no pooler) forward (eval, inference mode) and
/// forward+backward (train mode, dropout on) tokens/s, against the same architecture in plain
/// PyTorch (bench/roberta_reference.py) on the same libtorch. The reference runs as a child process
/// and the two sides alternate pass by pass, so both see the same machine. Target (issue 5): at least equal.
/// With --device cuda (the GPU machine) the reference is Hugging Face transformers' RobertaModel with
/// SDPA attention (bench/hf_roberta_reference.py), both sides in --dtype (bfloat16 by default there),
/// and each timed pass is --iters passes back to back between two device synchronizes.
/// </summary>
internal static class RobertaThroughputBench
{
    public static int Run(BenchOptions options)
    {
        int cores = Environment.ProcessorCount;
        var (device, dtypeName, dtype) = options.DeviceAndDtype();
        bool gpu = device.Type != DeviceType.CPU;
        int iters = int.Parse(options.Get("iters", gpu ? "20" : "1"), CultureInfo.InvariantCulture);
        string I(int n) => n.ToString(CultureInfo.InvariantCulture);
        using var reference = gpu
            ? new PythonReference(options, "hf_roberta_reference.py", I(options.Batch), device.ToString(), dtypeName, I(iters))
            : new PythonReference(options, "roberta_reference.py", I(options.Batch), I(cores));

        torch.set_num_threads(cores);
        torch.manual_seed(0);
        var config = new RobertaConfig { max_position_embeddings = 514, type_vocab_size = 1 };
        using var model = new RobertaModel(config, add_pooling_layer: false);
        model.to(device, dtype);
        using var gen = new Generator(0);
        var run = new Pass(model, gen, options.Batch, device, iters);

        if (options.Named.TryGetValue("trace", out var traceDir)) return Trace(reference, run, options.Seqs, traceDir);

        Console.WriteLine(gpu
            ? $"roberta-base, batch {options.Batch}, {dtypeName} on {device} ({iters} passes per timing). After a warm-up the two sides alternate;"
            : $"roberta-base, batch {options.Batch}, {cores} threads. After a warm-up the two sides alternate pass by pass;");
        Console.WriteLine("throughput is each side's best pass; the paired median is the median over pairs of (reference time / our time).");
        Console.WriteLine($"{"tokens",7} {"pass",17} {"Cluster.Torch",14} {(gpu ? "transformers" : "PyTorch/Python"),15} {"best ratio",11} {"paired median",13} {"n",4} {"target ≥1",8}");
        bool ok = true;
        foreach (int T in options.Seqs)
            foreach (var pass in new[] { "forward", "forward_backward" })
            {
                // short passes get more repeats: about 10 s a side per cell
                var t = PairedTiming.Measure(() => run.Time(T, pass == "forward"), () => reference.Ask($"{pass} {T}"), options.Repeats);
                long tokens = (long)options.Batch * T;
                bool met = Math.Max(t.BestRatio, t.PairedMedian) >= 1;
                ok &= met;
                Console.WriteLine($"{T,7} {pass.Replace('_', '+'),17} {tokens / t.Ours,10:F0} t/s {tokens / t.Reference,11:F0} t/s {t.BestRatio,11:F3} " +
                                  $"{t.PairedMedian,13:F3} {t.Pairs,4} {(met ? "met" : "MISSED"),8}");
            }
        Console.WriteLine();
        var memory = torch.cpu.memory_stats();
        Console.WriteLine($"libtorch {torch.__version__} (binding) vs {(gpu ? "" : "PyTorch ")}{reference.Version} (Python" +
                          (reference.ExtraEnvironment is { } env ? $", run with {env})" : ")"));
        Console.WriteLine(memory.is_caching
            ? $"Cluster's CPU allocator: caching; {memory.hits} large requests reused a block, {memory.misses} mapped new memory, " +
              $"peak reserved {memory.peak_reserved_bytes >> 20} MiB"
            : "Cluster's CPU allocator: libtorch's default (CLUSTER_CPU_ALLOCATOR=default)");
        return ok ? 0 : 1;
    }

    /// <summary>
    /// --trace DIR: instead of the table, one warm pass per cell on each side under libtorch's op
    /// profiler, written as Chrome traces that bench/trace_summary.py compares op by op.
    /// </summary>
    private static int Trace(PythonReference reference, Pass run, int[] seqs, string dir)
    {
        Directory.CreateDirectory(dir);
        foreach (int T in seqs)
            foreach (var pass in new[] { "forward", "forward_backward" })
            {
                string ours = Path.GetFullPath(Path.Combine(dir, $"cluster-{pass}-{T}.json"));
                string theirs = Path.GetFullPath(Path.Combine(dir, $"pytorch-{pass}-{T}.json"));
                run.Time(T, pass == "forward");
                double oursSeconds;
                using (torch.autograd.profile(ours)) oursSeconds = run.Time(T, pass == "forward");
                reference.Ask($"{pass} {T}");
                double theirSeconds = reference.Ask($"trace {pass} {T} {theirs}");
                Console.WriteLine($"{T} {pass}: ours {oursSeconds:F2} s, reference {theirSeconds:F2} s (both profiled)");
                Console.WriteLine($"  python3 bench/trace_summary.py {ours} {theirs}");
            }
        return 0;
    }

    /// <summary>One timed pass (or, on a GPU, `iters` passes between two synchronizes) over a fresh (B, T) batch, as the reference does it.</summary>
    private sealed record Pass(RobertaModel Model, Generator Gen, int B, Device Device, int Iters)
    {
        /// <summary>Mean seconds per pass.</summary>
        public double Time(int T, bool forwardOnly)
        {
            using var scope = torch.NewDisposeScope();
            bool gpu = Device.Type != DeviceType.CPU;
            var ids = torch.randint(3, Model.config.vocab_size, [B, T], generator: Gen).to(Device);
            var input = new EncoderInput(ids) { attention_mask = torch.ones([B, T], ScalarType.Int64).to(Device) };
            if (gpu) torch.cuda.synchronize(Device.Index);
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < Iters; i++)
            {
                using var step = torch.NewDisposeScope();
                if (forwardOnly)
                {
                    using var _ = torch.inference_mode();
                    Model.eval();
                    Model.forward(input);
                }
                else
                {
                    Model.train();
                    Model.zero_grad();
                    Model.forward(input).last_hidden_state.to(ScalarType.Float32).mean().backward();
                }
            }
            if (gpu) torch.cuda.synchronize(Device.Index);
            return sw.Elapsed.TotalSeconds / Iters;
        }
    }
}
