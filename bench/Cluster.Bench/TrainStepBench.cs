using System.Diagnostics;
using System.Globalization;
using Cluster.Model.Configuration;
using Cluster.Torch;
using Cluster.Training;
using Cluster.Training.Batching;
using Cluster.Training.Reduction;

namespace Cluster.Bench;

/// <summary>
/// One masked-LM training step of roberta-base (random weights) as a pretraining worker takes it (PretrainingReplica:
/// forward, the loss over every position's logits, backward, the flat gradient buffer, clipping at 1.0, AdamW), against
/// the reference step of bench/mlm_train_reference.py on the same batch shape: Hugging Face transformers'
/// RobertaForMaskedLM with the Trainer's optimizer where transformers is installed (the GPU machine), else plain
/// PyTorch. --dtype bfloat16 (the default on a GPU) is mixed precision on both sides: bf16 autocast, float32 weights.
/// Prints tokens/s and model-FLOPs utilisation (the matrix products' FLOPs, as PaLM's appendix counts them, over
/// --peak-tflops; the default 989 is an H100 SXM's or H200's dense bf16). Target (issue 14): ≥ 1.0× transformers and
/// ≥ 50% MFU on one GPU.
/// </summary>
internal static class TrainStepBench
{
    public static int Run(BenchOptions options)
    {
        var device = Device.Parse(options.Get("device", "cpu"));
        bool gpu = device.Type != DeviceType.CPU;
        var dtypeName = options.Get("dtype", gpu ? "bfloat16" : "float32");
        if (dtypeName is not ("float32" or "bfloat16")) throw new ArgumentException($"--dtype {dtypeName}: expected float32 or bfloat16 (mixed precision)");
        if (dtypeName == "bfloat16" && !gpu)
            throw new ArgumentException("--dtype bfloat16 is compared on CUDA: the CPU reference's PyTorch 1.13 autocast hands bf16 activations to " +
                                        "float32 LayerNorm parameters, which its layer_norm refuses");
        int iters = int.Parse(options.Get("iters", gpu ? "10" : "1"), CultureInfo.InvariantCulture);
        double? peak = options.Named.TryGetValue("peak-tflops", out var p) ? double.Parse(p, CultureInfo.InvariantCulture) : gpu ? 989 : null;
        int threads = Environment.ProcessorCount, batchSize = options.Batch;
        string I(int n) => n.ToString(CultureInfo.InvariantCulture);

        using var reference = new PythonReference(options, "mlm_train_reference.py", I(batchSize), device.ToString(), dtypeName, I(iters), I(threads));
        torch.set_num_threads(threads);
        var config = new RobertaConfig { max_position_embeddings = 514, type_vocab_size = 1 };
        var settings = new OptimizerSettings { LearningRate = 1e-4, TotalSteps = 1_000_000, Bf16 = dtypeName == "bfloat16" };
        using var replica = PretrainingReplica.Create(config, 0, settings, device);
        using var reducer = new SingleReplicaReducer();
        var random = new Random(0);

        Console.WriteLine($"roberta-base masked-LM training step, batch {batchSize}, {(settings.Bf16 ? "bf16 autocast (float32 weights)" : "float32")} on {device}, " +
                          $"{iters} step(s) per timing; the two sides alternate, best and paired median as in the model bench");
        Console.WriteLine($"{"tokens",7} {"Cluster",14} {"reference",14} {"best ratio",11} {"paired median",13} {"MFU ours",9} {"MFU ref",8} {"n",3}");
        bool ok = true;
        foreach (var T in options.Seqs)
        {
            var batch = RandomBatch(batchSize, T, config.vocab_size, random);
            double Ours()
            {
                if (gpu) torch.cuda.synchronize(device.Index);
                var sw = Stopwatch.StartNew();
                for (var i = 0; i < iters; i++)
                    replica.TrainStep(1, (_, beforeBackward) =>
                        (replica.Accumulate(batch, beforeBackward is null ? null : loss => beforeBackward(loss, batch.MaskedTokens)), batch.MaskedTokens), reducer);
                if (gpu) torch.cuda.synchronize(device.Index);
                return sw.Elapsed.TotalSeconds / iters;
            }
            double Reference() => reference.Ask($"train {T}");
            Reference();
            var warm = Ours();
            int repeats = Math.Clamp((int)Math.Ceiling(10 / warm), options.Repeats, 10);
            var pairs = Enumerable.Range(0, repeats).Select(_ => (ours: Ours(), theirs: Reference())).ToList();
            double ours = pairs.Min(x => x.ours), theirs = pairs.Min(x => x.theirs);
            var median = pairs.Select(x => x.theirs / x.ours).Order().ElementAt(repeats / 2);
            long tokens = (long)batchSize * T;
            var flops = FlopsPerStep(config, batchSize, T);
            string Mfu(double seconds) => peak is { } tf ? $"{flops / seconds / (tf * 1e12):P1}" : "-";
            ok &= Math.Max(theirs / ours, median) >= 1;
            Console.WriteLine($"{T,7} {tokens / ours,10:F0} t/s {tokens / theirs,10:F0} t/s {theirs / ours,11:F3} {median,13:F3} {Mfu(ours),9} {Mfu(theirs),8} {repeats,3}");
        }
        Console.WriteLine();
        Console.WriteLine($"ours: libtorch {torch.__version__}; reference: {reference.Version}");
        Console.WriteLine(peak is { } t
            ? $"MFU: 6 × (the matrix products' parameters, LM decoder included) + 12 × layers × hidden × T FLOPs per token, over {t} TFLOP/s"
            : "MFU: pass --peak-tflops (the device's dense peak) to print it");
        return ok ? 0 : 1;
    }

    /// <summary>B rows of T random tokens, 15% of positions labelled with their own token (no corruption: the step's
    /// cost does not depend on it), no padding.</summary>
    static MlmBatch RandomBatch(int rows, int length, int vocab, Random random)
    {
        var ids = new int[rows * length];
        var labels = new long[rows * length];
        var masked = 0;
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = random.Next(3, vocab);
            labels[i] = random.NextDouble() < 0.15 ? ids[i] : -100;
            if (labels[i] >= 0) masked++;
        }
        var attention = new int[ids.Length];
        Array.Fill(attention, 1);
        return new MlmBatch { Rows = rows, Length = length, InputIds = ids, AttentionMask = attention, Labels = labels, MaskedTokens = masked, RealTokens = ids.Length };
    }

    /// <summary>Forward + backward FLOPs of one step: 3 × forward; forward per token 2 × the weights of every matrix
    /// product (q, k, v, output, two feed-forward; the LM head's dense and its decoder over the vocabulary) plus
    /// attention's two products, 2 × 2 × T × hidden per layer.</summary>
    static double FlopsPerStep(RobertaConfig c, int rows, int length)
    {
        double h = c.hidden_size, weights = c.num_hidden_layers * (4 * h * h + 2 * h * c.intermediate_size) + h * h + h * c.vocab_size;
        double perToken = 2 * weights + c.num_hidden_layers * 4.0 * length * h;
        return 3 * perToken * rows * length;
    }
}
