using System.CommandLine;
using System.Globalization;
using Cluster.Client.Training;
using Cluster.Grains;
using Cluster.Model.Checkpoints;
using Cluster.Model.Tasks;
using Cluster.Training;
using Cluster.Training.Evaluation;
using Cluster.Training.FineTuning;

namespace Cluster.Client.Commands;

/// <summary>`cluster finetune`: data-parallel fine-tuning of a pretrained RoBERTa or RoCBert under a task head, with
/// evaluation as the Hugging Face example scripts compute it, on an in-process cluster of CPU workers or a running one.</summary>
internal static class FinetuneCommand
{
    public static Command Create()
    {
        var task = new Option<string>("--task") { Description = "sequence-classification, token-classification, question-answering or multiple-choice", Required = true };
        task.AcceptOnlyFromAmong(HeadSpec.Tasks.Select(t => t.Name()).ToArray());
        var modelDir = new Option<DirectoryInfo>("--model-dir") { Description = "the pretrained model (ours or a Hugging Face directory, with its tokenizer files)", Required = true };
        var train = new Option<FileInfo>("--train") { Description = "training file: JSONL (sequence classification also CSV/TSV), or SQuAD JSON", Required = true };
        var eval = new Option<FileInfo>("--eval") { Description = "evaluation file, in the training file's format", Required = true };
        var test = new Option<FileInfo?>("--test") { Description = "a test file predicted once at the end into OUT/test_predictions.jsonl and, when labelled, scored (test_ metrics; sequence classification may have no labels)" };
        var output = new Option<DirectoryInfo>("--out") { Description = "output: the fine-tuned model (Hugging Face layout), checkpoints/, metrics.csv, eval_results.json", Required = true };
        var workers = new Option<int>("--workers") { Description = "workers (devices); in-process: CPU workers", DefaultValueFactory = _ => 1 };
        var batch = new Option<int>("--batch-size") { Description = "features per worker per micro-batch", DefaultValueFactory = _ => 8 };
        var accumulation = new Option<int>("--grad-accum") { Description = "micro-batches accumulated per optimizer step", DefaultValueFactory = _ => 1 };
        var maxLength = new Option<int>("--max-length") { Description = "tokens per sequence (longer ones are truncated; QA contexts are windowed)", DefaultValueFactory = _ => 128 };
        var epochs = new Option<double>("--epochs") { Description = "passes over the training features", DefaultValueFactory = _ => 3 };
        var steps = new Option<long>("--max-steps") { Description = "optimizer steps (overrides --epochs when above 0)", DefaultValueFactory = _ => 0 };
        var lr = new Option<double>("--lr") { Description = "peak learning rate", DefaultValueFactory = _ => 5e-5 };
        var warmup = new Option<long>("--warmup") { Description = "warm-up steps (then linear decay to 0)", DefaultValueFactory = _ => 0 };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong>("--seed") { Description = "seed of the head's weights and the data order", DefaultValueFactory = _ => 42 };
        var allReduce = new Option<string>("--allreduce") { Description = "gradient all-reduce backend: collective or coordinator", DefaultValueFactory = _ => "collective" };
        allReduce.AcceptOnlyFromAmong("collective", "coordinator");
        var bucketMegabytes = new Option<double>("--bucket-mb") { Description = "gradient bucket size reduced while backward runs (0: after backward)", DefaultValueFactory = _ => 25 };
        var bf16 = new Option<bool>("--bf16") { Description = "mixed precision, as the Hugging Face Trainer's --bf16: forward passes under bf16 autocast, weights, gradients and optimizer state float32" };
        var checkpointEvery = new Option<long>("--checkpoint-every") { Description = "save a checkpoint every N steps (0: at the end only)", DefaultValueFactory = _ => 0 };
        var evalEvery = new Option<long>("--eval-every") { Description = "evaluate every N steps (0: at the end only)", DefaultValueFactory = _ => 0 };
        var saveBest = new Option<string?>("--save-best") { Description = "keep the model of the best evaluation by this metric (eval_accuracy, eval_f1, eval_loss, ...) in OUT/best" };
        var freeze = new Option<bool>("--freeze-encoder") { Description = "train the head only; OUT holds the head and a hash-checked reference to --model-dir" };
        var ignoreMismatched = new Option<bool>("--ignore-mismatched-sizes") { Description = "--model-dir holds this task's head with another label count: train a new head in its place" };
        var problem = new Option<string?>("--problem-type") { Description = "sequence classification: single_label_classification, multi_label_classification or regression (default: from the labels)" };
        var numLabels = new Option<int?>("--num-labels") { Description = "sequence classification with integer labels: the class count (default: the largest id + 1)" };
        var docStride = new Option<int>("--doc-stride") { Description = "question answering: tokens two windows of a long context share", DefaultValueFactory = _ => 128 };
        var maxAnswer = new Option<int>("--max-answer-length") { Description = "question answering: the longest answer, in tokens", DefaultValueFactory = _ => 30 };
        var nullThreshold = new Option<double>("--null-score-threshold") { Description = "SQuAD v2: how much the no-answer score must beat the best span's", DefaultValueFactory = _ => 0 };
        var resume = new Option<bool>("--resume") { Description = "continue from the newest checkpoint in --out" };
        var metricsOut = new Option<FileInfo?>("--metrics-out") { Description = "write the final metrics as JSON (eval_accuracy, eval_f1, eval_exact_match, ...)" };
        var cluster = new ClusterOptions(inProcessWithout: true);
        var command = new Command("finetune", "Fine-tune a pretrained RoBERTa or RoCBert under a task head, data-parallel, and evaluate it")
        {
            task, modelDir, train, eval, test, output, workers, batch, accumulation, maxLength, epochs, steps, lr, warmup, weightDecay, seed,
            allReduce, bucketMegabytes, bf16, checkpointEvery, evalEvery, saveBest, freeze, ignoreMismatched, problem, numLabels, docStride, maxAnswer, nullThreshold,
            resume, metricsOut,
        };
        cluster.AddTo(command);
        command.SetAction(async (parsed, cancellation) =>
        {
            var head = Heads.Parse(parsed.GetValue(task)!);
            var model = parsed.GetValue(modelDir)!.FullName;
            var (trainFile, evalFile, testFile) = (parsed.GetValue(train)!.FullName, parsed.GetValue(eval)!.FullName, parsed.GetValue(test)?.FullName);
            var outDir = parsed.GetValue(output)!.FullName;
            var (w, b, k) = (parsed.GetValue(workers), parsed.GetValue(batch), parsed.GetValue(accumulation));
            if (!(parsed.GetValue(epochs) > 0) && parsed.GetValue(steps) < 1) throw new ArgumentException("--epochs must be above 0 (or give --max-steps)");
            FineTuningInputs.CheckEvaluation(parsed.GetValue(saveBest), parsed.GetValue(evalEvery));
            if (parsed.GetValue(bucketMegabytes) is < 0 or double.NaN) throw new ArgumentException($"--bucket-mb must be 0 or more, not {parsed.GetValue(bucketMegabytes)}");
            var options = new TaskOptions
            {
                MaxLength = parsed.GetValue(maxLength), DocStride = parsed.GetValue(docStride), NumLabels = parsed.GetValue(numLabels),
                Problem = parsed.GetValue(problem) is { } p ? ProblemTypes.Parse(p) : null,
                MaxAnswerLength = parsed.GetValue(maxAnswer), NullThreshold = parsed.GetValue(nullThreshold),
            };
            // The step count needs the feature count, which needs the files read: check with a provisional count first.
            var provisional = Optimizer(parsed, lr, warmup, weightDecay, Math.Max(1, Math.Max(parsed.GetValue(steps), parsed.GetValue(warmup))));
            var (checkedTask, checkpoint) = FineTuningInputs.Check(head, model, trainFile, evalFile, testFile, outDir, parsed.GetValue(resume), options, w, b, k, provisional,
                parsed.GetValue(ignoreMismatched));
            var totalSteps = parsed.GetValue(steps) > 0 ? parsed.GetValue(steps) : FineTuningWorker.StepsFor(checkedTask.Train.Length, w * k * b, parsed.GetValue(epochs));
            var optimizer = Optimizer(parsed, lr, warmup, weightDecay, totalSteps);
            optimizer.Validate();
            var config = Pretrained.LoadConfig(model);
            var spec = new TrainingJobSpec
            {
                JobId = $"finetune-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}",
                ConfigJson = config.ToJson(), TokenizerDirectory = model, DataDirectory = model, OutputDirectory = outDir,
                Workers = w, BatchSize = b, GradientAccumulation = k, MaxLength = options.MaxLength, MaxSteps = totalSteps,
                LearningRate = optimizer.LearningRate, WarmupSteps = optimizer.WarmupSteps, WeightDecay = optimizer.WeightDecay,
                Beta2 = optimizer.Beta2, Epsilon = optimizer.Epsilon,
                Seed = parsed.GetValue(seed), CheckpointEvery = parsed.GetValue(checkpointEvery), AllReduce = parsed.GetValue(allReduce)!,
                Resume = checkpoint is not null, BucketMegabytes = parsed.GetValue(bucketMegabytes), Bf16 = parsed.GetValue(bf16),
                FineTuning = new FineTuningJobSpec
                {
                    Task = head.Name(), ModelDirectory = model, TrainFile = trainFile, EvalFile = evalFile, TestFile = testFile,
                    DocStride = options.DocStride, ProblemType = checkedTask.Spec.Head == Head.SequenceClassification ? checkedTask.Spec.Problem.HfName() : null,
                    NumLabels = options.NumLabels, MaxAnswerLength = options.MaxAnswerLength, NullScoreThreshold = options.NullThreshold,
                    FreezeEncoder = parsed.GetValue(freeze), EvalEvery = parsed.GetValue(evalEvery), SaveBest = parsed.GetValue(saveBest),
                    Epochs = parsed.GetValue(epochs), IgnoreMismatchedSizes = parsed.GetValue(ignoreMismatched),
                },
            };
            Console.WriteLine($"job {spec.JobId}: {head.Name()} on {model}; {checkedTask.Train.Length:N0} training and {checkedTask.Eval.Length:N0} evaluation features"
                + (checkedTask.Spec.Labels.Count > 0 && head != Head.QuestionAnswering ? $", labels {string.Join(", ", checkedTask.Spec.Labels)}" : "")
                + $"; {totalSteps} steps of {spec.GlobalBatch}" + (checkpoint is null ? "" : $"; resuming from {checkpoint}"));
            var result = await JobRunner.RunAsync(spec, cluster.ReadOptional(parsed), cancellation);
            if (result is null) return JobRunner.Interrupted(cluster.ReadOptional(parsed));
            return Finish(result.Value.Status, result.Value.Steps, spec, parsed.GetValue(metricsOut)?.FullName);
        });
        return command;
    }

    /// <summary>The Hugging Face Trainer's AdamW (β2 0.999, ε 1e-8), with the command's rate, warm-up and decay.</summary>
    static OptimizerSettings Optimizer(ParseResult parsed, Option<double> lr, Option<long> warmup, Option<double> weightDecay, long totalSteps) => new()
    {
        LearningRate = parsed.GetValue(lr), TotalSteps = totalSteps, WarmupSteps = parsed.GetValue(warmup), WeightDecay = parsed.GetValue(weightDecay),
        Beta2 = 0.999, Epsilon = 1e-8,
    };

    static int Finish(JobStatus status, List<TrainingStepRecord> steps, TrainingJobSpec spec, string? metricsOut)
    {
        if (status.State != "completed")
        {
            Console.Error.WriteLine($"cluster: job {status.JobId} {status.State}{(status.Error is null ? "" : ": " + status.Error)}");
            return 1;
        }
        var final = status.Evaluations is { Count: > 0 } evaluations ? evaluations[^1].Metrics : [];
        var metrics = final.ToDictionary(kv => kv.Key, kv => (object)kv.Value);
        metrics["train_loss"] = steps.Count > 0 ? steps.Average(s => s.Loss) : double.NaN;
        metrics["train_steps"] = status.Step;
        var seconds = steps.Sum(s => s.Seconds);
        metrics["train_samples_per_second"] = seconds > 0 ? steps.Count * (double)spec.GlobalBatch / seconds : 0;
        if (metricsOut is not null)
            File.WriteAllText(metricsOut, MetricsReport.ToJson(metrics));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done: {status.Step} steps, loss {steps.FirstOrDefault()?.Loss:F4} → {steps.LastOrDefault()?.Loss:F4}; {MetricsReport.Line(final)}"));
        Console.WriteLine($"model: {spec.OutputDirectory}   metrics: {Path.Combine(spec.OutputDirectory, "eval_results.json")}"
                          + (spec.FineTuning?.TestFile is null ? "" : $"   test predictions: {Path.Combine(spec.OutputDirectory, PredictionsFile.TestName)}"));
        return 0;
    }
}
