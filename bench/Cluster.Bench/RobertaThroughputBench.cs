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
/// </summary>
internal static class RobertaThroughputBench
{
    public static int Run(BenchOptions options)
    {
        int cores = Environment.ProcessorCount;
        using var reference = new PythonReference(options, "roberta_reference.py", options.Batch.ToString(CultureInfo.InvariantCulture),
            cores.ToString(CultureInfo.InvariantCulture));

        torch.set_num_threads(cores);
        torch.manual_seed(0);
        var config = new RobertaConfig { max_position_embeddings = 514, type_vocab_size = 1 };
        using var model = new RobertaModel(config, add_pooling_layer: false);
        using var gen = new Generator(0);

        Console.WriteLine($"roberta-base, batch {options.Batch}, {cores} threads. After a warm-up the two sides alternate pass by pass;");
        Console.WriteLine("throughput is each side's best pass; the paired median is the median over pairs of (reference time / our time).");
        Console.WriteLine($"{"tokens",7} {"pass",17} {"Cluster.Torch",14} {"PyTorch/Python",15} {"best ratio",11} {"paired median",13} {"n",4} {"target ≥1",8}");
        bool ok = true;
        foreach (int T in options.Seqs)
            foreach (var pass in new[] { "forward", "forward_backward" })
            {
                double Reference() => reference.Ask($"{pass} {T}");
                double Ours() => Time(model, gen, options.Batch, T, pass == "forward");
                Reference();
                double warm = Ours();
                // short passes get more repeats: about 10 s a side per cell
                int repeats = Math.Clamp((int)Math.Ceiling(10 / warm), options.Repeats, 10);
                var pairs = new List<(double ours, double theirs)>();
                for (int i = 0; i < repeats; i++) pairs.Add((Ours(), Reference()));
                double ours = pairs.Min(p => p.ours), theirs = pairs.Min(p => p.theirs);
                var ratios = pairs.Select(p => p.theirs / p.ours).Order().ToList();
                double median = ratios[ratios.Count / 2];
                long tokens = (long)options.Batch * T;
                double ratio = theirs / ours;
                ok &= Math.Max(ratio, median) >= 1;
                Console.WriteLine($"{T,7} {pass.Replace('_', '+'),17} {tokens / ours,10:F0} t/s {tokens / theirs,11:F0} t/s {ratio,11:F3} {median,13:F3} {repeats,4} " +
                                  $"{(Math.Max(ratio, median) >= 1 ? "met" : "MISSED"),8}");
            }
        Console.WriteLine();
        Console.WriteLine($"libtorch {torch.__version__} (binding) vs PyTorch {reference.Version} (Python)");
        return ok ? 0 : 1;
    }

    /// <summary>Seconds for one pass over a fresh (B, T) batch, as the reference does it.</summary>
    private static double Time(RobertaModel model, Generator gen, int B, int T, bool forwardOnly)
    {
        using var scope = torch.NewDisposeScope();
        var ids = torch.randint(3, model.config.vocab_size, [B, T], generator: gen);
        var input = new EncoderInput(ids) { attention_mask = torch.ones([B, T], ScalarType.Int64) };
        var sw = Stopwatch.StartNew();
        if (forwardOnly)
        {
            using var _ = torch.inference_mode();
            model.eval();
            model.forward(input);
        }
        else
        {
            model.train();
            model.zero_grad();
            model.forward(input).last_hidden_state.mean().backward();
        }
        return sw.Elapsed.TotalSeconds;
    }
}
