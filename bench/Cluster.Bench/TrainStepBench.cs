using System.Diagnostics;
using System.Globalization;
using Cluster.Model.Configuration;
using Cluster.Model.Tasks;
using Cluster.Torch;
using Cluster.Training;
using Cluster.Training.Batching;
using Cluster.Training.FineTuning;
using Cluster.Training.Reduction;

namespace Cluster.Bench;

/// <summary>
/// One training step of roberta-base (random weights) as a worker takes it, against the reference step of
/// bench/train_step_reference.py on the same batch shape. --task mlm (the default): a pretraining worker's
/// (PretrainingReplica: forward, the loss over every position's logits, backward, the flat gradient buffer, clipping
/// at 1.0, AdamW) against transformers' RobertaForMaskedLM; --task sequence-classification: a fine-tuning worker's
/// (FineTuningReplica, two classes, from a saved fresh roberta-base) against RobertaForSequenceClassification; the
/// reference with the Trainer's optimizer where transformers is installed (the GPU machine), else plain PyTorch.
/// --dtype bfloat16 (the default on a GPU) is mixed precision on both sides: bf16 autocast, float32 weights.
/// Prints tokens/s and model-FLOPs utilisation (the matrix products' FLOPs, as PaLM's appendix counts them, over
/// --peak-tflops; the default 989 is an H100 SXM's or H200's dense bf16). Target (issue 14): ≥ 1.0× transformers and
/// ≥ 50% MFU on one GPU (masked LM); issue 15 compares fine-tuning with the Trainer.
/// </summary>
internal static class TrainStepBench
{
    public static int Run(BenchOptions options)
    {
        var (device, dtypeName, _) = options.DeviceAndDtype();
        bool gpu = device.Type != DeviceType.CPU;
        if (dtypeName is not ("float32" or "bfloat16")) throw new ArgumentException($"--dtype {dtypeName}: expected float32 or bfloat16 (mixed precision)");
        if (dtypeName == "bfloat16" && !gpu)
            throw new ArgumentException("--dtype bfloat16 is compared on CUDA: the CPU reference's PyTorch 1.13 autocast hands bf16 activations to " +
                                        "float32 LayerNorm parameters, which its layer_norm refuses");
        int iters = int.Parse(options.Get("iters", gpu ? "10" : "1"), CultureInfo.InvariantCulture);
        double? peak = options.Named.TryGetValue("peak-tflops", out var p) ? double.Parse(p, CultureInfo.InvariantCulture) : gpu ? 989 : null;
        var task = options.Get("task", "mlm");
        if (task is not ("mlm" or "sequence-classification")) throw new ArgumentException($"--task {task}: expected mlm or sequence-classification");
        int threads = Environment.ProcessorCount, batchSize = options.Batch;
        string I(int n) => n.ToString(CultureInfo.InvariantCulture);

        using var reference = new PythonReference(options, "train_step_reference.py", task, I(batchSize), device.ToString(), dtypeName, I(iters), I(threads));
        torch.set_num_threads(threads);
        var config = new RobertaConfig { max_position_embeddings = 514, type_vocab_size = 1 };
        bool bf16 = dtypeName == "bfloat16";
        using var worker = task == "mlm" ? StepRunner.MaskedLM(config, bf16, device) : StepRunner.SequenceClassification(config, bf16, device);
        var random = new Random(0);

        Console.WriteLine($"roberta-base {task} training step, batch {batchSize}, {(bf16 ? "bf16 autocast (float32 weights)" : "float32")} on {device}, " +
                          $"{iters} step(s) per timing; the two sides alternate, best and paired median as in the model bench");
        Console.WriteLine($"{"tokens",7} {"Cluster",14} {"reference",14} {"best ratio",11} {"paired median",13} {"MFU ours",9} {"MFU ref",8} {"n",3}");
        bool ok = true;
        foreach (var T in options.Seqs)
        {
            var step = worker.Prepare(batchSize, T, random);
            double Ours()
            {
                if (gpu) torch.cuda.synchronize(device.Index);
                var sw = Stopwatch.StartNew();
                for (var i = 0; i < iters; i++) step();
                if (gpu) torch.cuda.synchronize(device.Index);
                return sw.Elapsed.TotalSeconds / iters;
            }
            var t = PairedTiming.Measure(Ours, () => reference.Ask($"train {T}"), options.Repeats);
            long tokens = (long)batchSize * T;
            var flops = FlopsPerStep(config, batchSize, T, withDecoder: task == "mlm");
            string Mfu(double seconds) => peak is { } tf ? $"{flops / seconds / (tf * 1e12):P1}" : "-";
            ok &= Math.Max(t.BestRatio, t.PairedMedian) >= 1;
            Console.WriteLine($"{T,7} {tokens / t.Ours,10:F0} t/s {tokens / t.Reference,10:F0} t/s {t.BestRatio,11:F3} {t.PairedMedian,13:F3} " +
                              $"{Mfu(t.Ours),9} {Mfu(t.Reference),8} {t.Pairs,3}");
        }
        Console.WriteLine();
        Console.WriteLine($"ours: libtorch {torch.__version__}; reference: {reference.Version}");
        Console.WriteLine(peak is { } tflops
            ? $"MFU: 6 × (the matrix products' parameters, the LM decoder included for mlm) + 12 × layers × hidden × T FLOPs per token, over {tflops} TFLOP/s"
            : "MFU: pass --peak-tflops (the device's dense peak) to print it");
        return ok ? 0 : 1;
    }

    /// <summary>Our side: a replica and how it takes one step on a random batch of a given shape.</summary>
    sealed class StepRunner(DataParallelReplica replica, Func<int, int, Random, Action> prepare, string? directory = null) : IDisposable
    {
        public Action Prepare(int rows, int length, Random random) => prepare(rows, length, random);

        public static StepRunner MaskedLM(RobertaConfig config, bool bf16, Device device)
        {
            var settings = new OptimizerSettings { LearningRate = 1e-4, TotalSteps = 1_000_000, Bf16 = bf16 };
            var replica = PretrainingReplica.Create(config, 0, settings, device);
            var reducer = new SingleReplicaReducer();
            return new StepRunner(replica, (rows, length, random) =>
            {
                var batch = RandomMlmBatch(rows, length, config.vocab_size, random);
                return () => replica.TrainStep(1, (_, beforeBackward) =>
                    (replica.Accumulate(batch, beforeBackward is null ? null : loss => beforeBackward(loss, batch.MaskedTokens)), batch.MaskedTokens), reducer);
            });
        }

        /// <summary>A fresh roberta-base saved to a temporary directory (what fine-tuning starts from), two classes, the
        /// fine-tuning defaults of <c>cluster finetune</c> (the Trainer's: β2 0.999, ε 1e-8, no weight decay).</summary>
        public static StepRunner SequenceClassification(RobertaConfig config, bool bf16, Device device)
        {
            var directory = Directory.CreateTempSubdirectory("cluster-trainstep-").FullName;
            using (var scope = torch.NewDisposeScope())
            {
                torch.manual_seed(0);
                using var fresh = TaskModel.Create(config, Head.MaskedLM);
                fresh.SavePretrained(directory, null);
            }
            var settings = new OptimizerSettings { LearningRate = 5e-5, TotalSteps = 1_000_000, Beta2 = 0.999, Epsilon = 1e-8, WeightDecay = 0, Bf16 = bf16 };
            var replica = FineTuningReplica.Create(directory, new HeadSpec(Head.SequenceClassification, ["a", "b"]), 0, settings, device);
            var reducer = new SingleReplicaReducer();
            return new StepRunner(replica, (rows, length, random) =>
            {
                var features = Enumerable.Range(0, rows).Select(i => new Feature(i,
                    [new EncodedRow(Enumerable.Range(0, length).Select(_ => random.Next(3, config.vocab_size)).ToArray(), null, null, null)])
                    { ClassId = random.Next(2) }).ToArray();
                var batch = FineTuningBatch.Build(Head.SequenceClassification, features, config.pad_token_id ?? 1);
                return () => replica.TrainStep(1, (_, beforeBackward) => replica.Accumulate(batch, beforeBackward), reducer);
            }, directory);
        }

        public void Dispose()
        {
            replica.Dispose();
            if (directory is not null) Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>B rows of T random tokens, 15% of positions labelled with their own token (no corruption: the step's
    /// cost does not depend on it), no padding.</summary>
    static MlmBatch RandomMlmBatch(int rows, int length, int vocab, Random random)
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
    /// product (q, k, v, output, two feed-forward; the head's dense, and for masked LM its decoder over the vocabulary)
    /// plus attention's two products, 2 × 2 × T × hidden per layer. The classification head runs on one token a row and
    /// is left out.</summary>
    static double FlopsPerStep(RobertaConfig c, int rows, int length, bool withDecoder)
    {
        double h = c.hidden_size, weights = c.num_hidden_layers * (4 * h * h + 2 * h * c.intermediate_size) + (withDecoder ? h * h + h * c.vocab_size : 0);
        double perToken = 2 * weights + c.num_hidden_layers * 4.0 * length * h;
        return 3 * perToken * rows * length;
    }
}
