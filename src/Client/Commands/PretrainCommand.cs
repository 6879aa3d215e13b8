using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Cluster.Client.Connection;
using Cluster.Client.Training;
using Cluster.Grains;
using Cluster.Training;
using Cluster.Training.Data;

namespace Cluster.Client.Commands;

/// <summary>`cluster pretrain`: data-parallel masked-LM pretraining from scratch, on an in-process cluster of CPU
/// workers or on a running cluster.</summary>
internal static class PretrainCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = "roberta or roc_bert", Required = true };
        arch.AcceptOnlyFromAmong("roberta", "roc_bert");
        var config = new Option<FileInfo>("--config") { Description = "config.json of the model (vocab_size defaults to the tokenizer's)", Required = true };
        var tokenizer = new Option<DirectoryInfo>("--tokenizer") { Description = "tokenizer directory", Required = true };
        var data = new Option<DirectoryInfo?>("--data") { Description = "a prepared corpus (`cluster data prepare`)" };
        var corpus = new Option<FileInfo[]>("--corpus") { Description = "text files to prepare into OUT/data first", AllowMultipleArgumentsPerToken = true };
        var workers = new Option<int>("--workers") { Description = "workers (devices); in-process: CPU workers", DefaultValueFactory = _ => 1 };
        var batch = new Option<int>("--batch-size") { Description = "examples per worker per micro-batch", DefaultValueFactory = _ => 8 };
        var accumulation = new Option<int>("--grad-accum") { Description = "micro-batches accumulated per optimizer step", DefaultValueFactory = _ => 1 };
        var maxLength = new Option<int>("--max-length") { Description = "tokens per example", DefaultValueFactory = _ => 128 };
        var lineByLine = new Option<bool>("--line-by-line") { Description = "one document per example instead of packed chunks" };
        var steps = new Option<long>("--max-steps") { Description = "optimizer steps", DefaultValueFactory = _ => 100 };
        var lr = new Option<double>("--lr") { Description = "peak learning rate", DefaultValueFactory = _ => 5e-4 };
        var warmup = new Option<long>("--warmup") { Description = "warm-up steps (then linear decay to 0)", DefaultValueFactory = _ => 0 };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay", DefaultValueFactory = _ => 0.01 };
        var seed = new Option<ulong>("--seed") { Description = "seed of the weights, the data order and the masks", DefaultValueFactory = _ => 42 };
        var allReduce = new Option<string>("--allreduce") { Description = "gradient all-reduce backend: collective (c10d: Gloo on CPU, NCCL on CUDA) or coordinator (over the coordinator's data-plane socket)", DefaultValueFactory = _ => "collective" };
        allReduce.AcceptOnlyFromAmong("collective", "coordinator");
        var bucketMegabytes = new Option<double>("--bucket-mb")
        {
            Description = "gradients are all-reduced in buckets of about this many MB while backward still runs, as DDP's bucket_cap_mb (0: all at once after backward)",
            DefaultValueFactory = _ => 25,
        };
        var bf16 = new Option<bool>("--bf16") { Description = "mixed precision, as the Hugging Face Trainer's --bf16: forward passes under bf16 autocast, weights, gradients and optimizer state float32" };
        var checkpointEvery = new Option<long>("--checkpoint-every") { Description = "save a checkpoint every N steps (0: at the end only)", DefaultValueFactory = _ => 0 };
        var output = new Option<DirectoryInfo>("--out") { Description = "output: the model (Hugging Face layout), checkpoints/, metrics.csv, loss.svg", Required = true };
        var resume = new Option<bool>("--resume") { Description = "continue from the newest checkpoint in --out" };
        var metricsOut = new Option<FileInfo?>("--metrics-out") { Description = "write the final metrics as JSON" };
        var objective = new Option<string?>("--objective")
        {
            Description = "mlm (masked LM; RoBERTa's) or contrastive (RoCBert's recipe: masked LM plus the contrastive loss against attacked copies, negatives from every worker); default: roc_bert contrastive, roberta mlm",
        };
        objective.AcceptOnlyFromAmong("mlm", "contrastive");
        var cluster = new ClusterOptions(inProcessWithout: true);
        var command = new Command("pretrain", "Pretrain RoBERTa (masked LM) or RoCBert (masked LM plus its contrastive objective) from scratch, data-parallel")
        {
            arch, config, tokenizer, data, corpus, workers, batch, accumulation, maxLength, lineByLine, steps, lr, warmup, weightDecay,
            seed, allReduce, bucketMegabytes, bf16, objective, checkpointEvery, output, resume, metricsOut,
        };
        cluster.AddTo(command);
        command.SetAction(async (parsed, cancellation) =>
        {
            var outDir = parsed.GetValue(output)!.FullName;
            var tokenizerDir = parsed.GetValue(tokenizer)!.FullName;
            var loaded = DataCommand.LoadTokenizer(tokenizerDir, parsed.GetValue(arch));
            var modelConfig = ConfigFile.Read(parsed.GetValue(config)!, parsed.GetValue(arch)!, loaded.VocabSize);
            var optimizer = new OptimizerSettings
            {
                LearningRate = parsed.GetValue(lr), TotalSteps = parsed.GetValue(steps), WarmupSteps = parsed.GetValue(warmup),
                WeightDecay = parsed.GetValue(weightDecay),
            };
            if (parsed.GetValue(bucketMegabytes) is < 0 or double.NaN) throw new ArgumentException($"--bucket-mb must be 0 or more, not {parsed.GetValue(bucketMegabytes)}");
            var chosenObjective = parsed.GetValue(objective) ?? (parsed.GetValue(arch) == "roc_bert" ? "contrastive" : "mlm");
            if (chosenObjective == "contrastive" && parsed.GetValue(arch) != "roc_bert")
                throw new ArgumentException("--objective contrastive is RoCBert's (its attacks need shape and pronunciation maps); use --arch roc_bert");
            var dataDir = parsed.GetValue(data)?.FullName;
            var corpusFiles = parsed.GetValue(corpus) ?? [];
            if ((dataDir is null) == (corpusFiles.Length == 0)) throw new ArgumentException("give either --data DIR (a prepared corpus) or --corpus FILE...");
            if (loaded.VocabSize > modelConfig.vocab_size)
                throw new ArgumentException($"the tokenizer's vocabulary ({loaded.VocabSize} tokens) does not fit the config's vocab_size {modelConfig.vocab_size}");
            PretrainingInputs.CheckSettings(modelConfig, parsed.GetValue(maxLength), parsed.GetValue(workers), parsed.GetValue(batch), parsed.GetValue(accumulation), optimizer);
            var createdOut = false;
            string? checkpoint;
            try
            {
                if (dataDir is null)
                {
                    dataDir = Path.Combine(outDir, "data");
                    if (!parsed.GetValue(resume))
                    {
                        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
                            throw new ArgumentException($"--out {outDir} is not empty (pass --resume to continue the job saved there)");
                        createdOut = !Directory.Exists(outDir);
                        CorpusPreparation.Prepare(loaded, tokenizerDir, corpusFiles.Select(f => f.FullName).ToArray(), dataDir, new DataCommand.ConsoleProgress("preparing the corpus"));
                        Console.Error.WriteLine();
                    }
                }
                checkpoint = PretrainingInputs.Check(modelConfig, tokenizerDir, dataDir, outDir, parsed.GetValue(resume), parsed.GetValue(maxLength),
                    parsed.GetValue(workers), parsed.GetValue(batch), parsed.GetValue(accumulation), optimizer, parsed.GetValue(lineByLine) ? ExampleMode.Line : ExampleMode.Packed, ignore: Path.Combine(outDir, "data"));
            }
            catch when (createdOut)
            {
                if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true); // refused: leave no trace of the corpus prepared for it
                throw;
            }
            var spec = new TrainingJobSpec
            {
                JobId = $"pretrain-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}",
                ConfigJson = modelConfig.ToJson(), TokenizerDirectory = tokenizerDir, DataDirectory = dataDir, OutputDirectory = outDir,
                Workers = parsed.GetValue(workers), BatchSize = parsed.GetValue(batch), GradientAccumulation = parsed.GetValue(accumulation),
                MaxLength = parsed.GetValue(maxLength), ExampleMode = parsed.GetValue(lineByLine) ? "line" : "packed", MaxSteps = optimizer.TotalSteps,
                LearningRate = optimizer.LearningRate, WarmupSteps = optimizer.WarmupSteps, WeightDecay = optimizer.WeightDecay,
                Seed = parsed.GetValue(seed), CheckpointEvery = parsed.GetValue(checkpointEvery), AllReduce = parsed.GetValue(allReduce)!,
                Resume = checkpoint is not null, Objective = chosenObjective, BucketMegabytes = parsed.GetValue(bucketMegabytes), Bf16 = parsed.GetValue(bf16),
            };
            Console.WriteLine(checkpoint is null ? $"job {spec.JobId}" : $"job {spec.JobId}, resuming from {checkpoint}");

            var result = await JobRunner.RunAsync(spec, cluster.ReadOptional(parsed), cancellation);
            if (result is null) return JobRunner.Interrupted(cluster.ReadOptional(parsed));
            return Finish(result.Value.Status, result.Value.Steps, spec, parsed.GetValue(metricsOut)?.FullName);
        });
        return command;
    }

    internal static int Finish(JobStatus status, List<TrainingStepRecord> steps, TrainingJobSpec spec, string? metricsOut)
    {
        if (status.State != "completed")
        {
            Console.Error.WriteLine($"cluster: job {status.JobId} {status.State}{(status.Error is null ? "" : ": " + status.Error)}");
            return 1;
        }
        var curve = Path.Combine(spec.OutputDirectory, "loss.svg");
        LossCurve.Write(curve, steps, $"{spec.JobId}: {spec.Workers} worker(s), global batch {spec.GlobalBatch}");
        var seconds = steps.Sum(s => s.Seconds);
        var tokens = steps.Sum(s => s.Tokens);
        var metrics = new Dictionary<string, object?>
        {
            ["initial_loss"] = steps.FirstOrDefault()?.Loss, ["final_loss"] = steps.LastOrDefault()?.Loss, ["steps"] = status.Step,
            ["tokens"] = tokens, ["tokens_per_second"] = seconds > 0 ? tokens / seconds : 0, ["workers"] = spec.Workers,
        };
        if (steps.Count > 0 && !double.IsNaN(steps[0].ContrastiveLoss))
            (metrics["initial_contrastive_loss"], metrics["final_contrastive_loss"]) = (steps[0].ContrastiveLoss, steps[^1].ContrastiveLoss);
        if (metricsOut is not null) File.WriteAllText(metricsOut, JsonSerializer.Serialize(metrics, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done: loss {steps.FirstOrDefault()?.Loss:F4} → {steps.LastOrDefault()?.Loss:F4}{ContrastiveChange(steps)} over {status.Step} steps, {tokens:N0} tokens, {(seconds > 0 ? tokens / seconds : 0):N0} tokens/s"));
        Console.WriteLine($"model: {spec.OutputDirectory}   loss curve: {curve}   metrics: {Path.Combine(spec.OutputDirectory, "metrics.csv")}");
        return 0;
    }

    /// <summary>RoCBert's contrastive part of the loss, first and last, for the closing line.</summary>
    static string ContrastiveChange(List<TrainingStepRecord> steps) => steps.Count == 0 || double.IsNaN(steps[0].ContrastiveLoss) ? ""
        : string.Create(CultureInfo.InvariantCulture, $" (contrastive {steps[0].ContrastiveLoss:F4} → {steps[^1].ContrastiveLoss:F4})");
}
