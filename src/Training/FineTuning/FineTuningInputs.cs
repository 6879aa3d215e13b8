using Cluster.Model.Checkpoints;
using Cluster.Model.Tasks;
using Cluster.Model.Tokenization;
using Cluster.Training.Checkpoints;

namespace Cluster.Training.FineTuning;

/// <summary>A fine-tuning job's inputs, checked before any worker starts: the model directory (a RoBERTa or RoCBert
/// config, a tokenizer that fits it), the settings, and every row of the data files (read and encoded as the workers
/// will); each problem is one line naming the file, line and field, and nothing is written.</summary>
public static class FineTuningInputs
{
    /// <summary>The task as the workers will read it, and the checkpoint to resume from when resuming.</summary>
    public static (FineTuningTask Task, string? Checkpoint) Check(Head head, string modelDirectory, string trainFile, string evalFile, string? testFile,
        string outputDirectory, bool resume, TaskOptions options, int workers, int batchSize, int accumulation, OptimizerSettings optimizer,
        bool ignoreMismatchedSizes = false)
    {
        if (!HeadSpec.Tasks.Contains(head))
            throw new ArgumentException($"--task {head.Name()} is not a fine-tuning task (known: {string.Join(", ", HeadSpec.Tasks.Select(t => t.Name()))})");
        if (!Directory.Exists(modelDirectory)) throw new ArgumentException($"--model-dir: no directory {modelDirectory}");
        var config = Pretrained.LoadConfig(modelDirectory);   // another model_type is refused here, naming it
        Pretrained.WeightsPath(modelDirectory);
        var tokenizer = AutoTokenizer.FromPretrained(modelDirectory);
        if (tokenizer.VocabSize > config.vocab_size)
            throw new ArgumentException($"{modelDirectory}: the tokenizer's vocabulary ({tokenizer.VocabSize} tokens) does not fit the config's vocab_size {config.vocab_size}");
        PretrainingInputs.CheckSettings(config, options.MaxLength, workers, batchSize, accumulation, optimizer);
        if (head == Head.QuestionAnswering && (options.DocStride < 0 || options.DocStride >= options.MaxLength - 8))
            throw new ArgumentException($"--doc-stride {options.DocStride} must be at least 0 and leave room for a question within --max-length {options.MaxLength}");
        var task = FineTuningTask.Load(head, tokenizer, trainFile, evalFile, options);
        if (testFile is not null) task.WithTest(testFile);
        if (!ignoreMismatchedSizes) CheckSavedHead(head, modelDirectory, config, task.Spec);
        var checkpoints = Path.Combine(outputDirectory, "checkpoints");
        if (resume)
            return (task, TrainingCheckpoint.Latest(checkpoints) ?? throw new ArgumentException($"--resume: no complete checkpoint under {checkpoints}"));
        if (Directory.Exists(outputDirectory) && Directory.EnumerateFileSystemEntries(outputDirectory).Any())
            throw new ArgumentException($"--out {outputDirectory} is not empty (pass --resume to continue the job saved there)");
        return (task, null);
    }

    /// <summary>A model directory saved with this task's head for another label count would fail in every worker on the
    /// classifier's shape: say so here, with the way out.</summary>
    static void CheckSavedHead(Head head, string modelDirectory, Cluster.Model.Configuration.PretrainedConfig config, HeadSpec spec)
    {
        if (Heads.SavedArchitecture(config) is not { } architecture || Heads.FromArchitecture(architecture) != head) return;
        var wanted = Pretrained.LoadConfig(modelDirectory);
        spec.Configure(wanted);
        if (wanted.num_labels != config.num_labels)
            throw new ArgumentException($"{modelDirectory}: its {architecture} head has {config.num_labels} labels and the training data " +
                                        $"{wanted.num_labels}: pass --ignore-mismatched-sizes to train a new head in its place");
    }

    /// <summary>The evaluation settings: <paramref name="saveBest"/> names an eval_ metric; the period is not negative.</summary>
    public static void CheckEvaluation(string? saveBest, long evalEvery)
    {
        if (saveBest is { } metric && !metric.StartsWith("eval_", StringComparison.Ordinal))
            throw new ArgumentException($"--save-best {metric}: name an evaluation metric (eval_loss, eval_accuracy, eval_f1, …)");
        if (evalEvery < 0) throw new ArgumentException($"--eval-every must be 0 or more, not {evalEvery}");
    }
}
