using Cluster.Model.Tasks;
using Cluster.Model.Tokenization;
using Cluster.Training.Batching;

namespace Cluster.Training.FineTuning;

/// <summary>Everything one worker of a fine-tuning job needs to know.</summary>
public sealed record FineTuningSessionOptions : GroupOptions
{
    public required Head Task { get; init; }
    /// <summary>The pretrained model (ours or a Hugging Face directory), with its tokenizer files.</summary>
    public required string ModelDirectory { get; init; }
    public required string TrainFile { get; init; }
    public required string EvalFile { get; init; }
    /// <summary>A second labelled set scored once at the end (<c>test_</c> metrics).</summary>
    public string? TestFile { get; init; }
    public TaskOptions TaskOptions { get; init; } = new();
    public bool FreezeEncoder { get; init; }
    /// <summary>A saved head of another shape is replaced by a new one (from_pretrained's ignore_mismatched_sizes).</summary>
    public bool IgnoreMismatchedSizes { get; init; }
    public int EvalBatchSize { get; init; } = 32;
}

/// <summary>One worker's part in a fine-tuning job: its device thread, the task's features (read and encoded from the
/// files on this worker), its replica of the pretrained encoder under the new head, and its place in the group.</summary>
public sealed class FineTuningSession : TrainingSession<FineTuningReplica>
{
    readonly FineTuningSessionOptions _options;
    FineTuningWorker? _worker;

    FineTuningSession(FineTuningSessionOptions options) : base(options) => _options = options;

    public HeadSpec? Spec => Replica?.Spec;

    /// <summary>Reads the task, builds the replica (or loads the checkpoint), joins the group (blocks until every rank
    /// has), and takes rank 0's weights.</summary>
    public static Task<FineTuningSession> StartAsync(FineTuningSessionOptions options) => StartAsync(new FineTuningSession(options));

    protected override void Start()
    {
        var o = _options;
        var task = FineTuningTask.Load(o.Task, AutoTokenizer.FromPretrained(o.ModelDirectory), o.TrainFile, o.EvalFile, o.TaskOptions);
        var replica = FineTuningReplica.Create(o.ModelDirectory, task.Spec, o.Seed, o.Optimizer, o.Device, o.FreezeEncoder,
            ignoreMismatchedSizes: o.IgnoreMismatchedSizes);
        _worker = new FineTuningWorker(replica, task, new GlobalBatchPlan(task.Train.Length, o.Layout.GlobalBatch, o.Seed));
        JoinGroup(replica);
        Buckets = o.Buckets(replica, Reducer!);
    }

    protected override StepResult Train(long step, out long tokens) => _worker!.TrainStep(step, _options.Layout, Reducer!, out tokens, Buckets);

    /// <summary>Scores the replica on the evaluation file, or with <paramref name="test"/> on the test file (its
    /// metrics named <c>test_…</c>, its predictions written to the output directory's <see cref="PredictionsFile.TestName"/>).</summary>
    public Task<Dictionary<string, double>> EvaluateAsync(bool test = false) => OnThread(() =>
    {
        var o = _options;
        if (!test) return _worker!.Task.Evaluate(Replica!, o.EvalBatchSize);
        var path = o.TestFile ?? throw new InvalidOperationException("the job has no test file");
        var predictions = o.OutputDirectory.Length > 0 ? Path.Combine(Directory.CreateDirectory(o.OutputDirectory).FullName, PredictionsFile.TestName) : null;
        return _worker!.Task.WithTest(path).Evaluate(Replica!, o.EvalBatchSize, predictions).ToDictionary(kv => "test_" + kv.Key["eval_".Length..], kv => kv.Value);
    });

    /// <summary>The fine-tuned model as a Hugging Face directory (with a frozen encoder: the head, referencing the
    /// pretrained directory), with the tokenizer files.</summary>
    public override Task SaveModelAsync(string directory) => OnThread(() => Replica!.Save(directory, _options.ModelDirectory, _options.ModelDirectory));
}
