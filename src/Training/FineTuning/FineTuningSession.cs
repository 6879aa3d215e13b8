using Cluster.Model.Tasks;
using Cluster.Model.Tokenization;
using Cluster.Training.Batching;
using Cluster.Training.Checkpoints;
using Cluster.Training.Reduction;
using Cluster.Training.Threading;

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
    public int EvalBatchSize { get; init; } = 32;
}

/// <summary>One worker's part in a fine-tuning job: its device thread, the task's features (read and encoded from the
/// files on this worker), its replica of the pretrained encoder under the new head, and its place in the group.</summary>
public sealed class FineTuningSession : ITrainingSession
{
    readonly DeviceThread _thread;
    readonly FineTuningSessionOptions _options;
    FineTuningReplica? _replica;
    FineTuningWorker? _worker;
    IGradientReducer? _reducer;
    BucketedReduction? _buckets;

    FineTuningSession(DeviceThread thread, FineTuningSessionOptions options) => (_thread, _options) = (thread, options);

    public long Step { get; private set; }
    public ulong WeightChecksum { get; private set; }
    public HeadSpec? Spec => _replica?.Spec;

    /// <summary>Reads the task, builds the replica (or loads the checkpoint), joins the group (blocks until every rank
    /// has), and takes rank 0's weights.</summary>
    public static async Task<FineTuningSession> StartAsync(FineTuningSessionOptions options)
    {
        var session = new FineTuningSession(new DeviceThread($"worker {options.Job}/{options.Layout.Rank}", options.Threads), options);
        try
        {
            await session._thread.RunAsync(session.Start);
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    void Start()
    {
        var o = _options;
        var task = FineTuningTask.Load(o.Task, AutoTokenizer.FromPretrained(o.ModelDirectory), o.TrainFile, o.EvalFile, o.TaskOptions);
        _replica = FineTuningReplica.Create(o.ModelDirectory, task.Spec, o.Seed, o.Optimizer, o.Device, o.FreezeEncoder);
        if (o.Checkpoint is not null) Step = TrainingCheckpoint.Load(o.Checkpoint, _replica).Step;
        _worker = new FineTuningWorker(_replica, task, new GlobalBatchPlan(task.Train.Length, o.Layout.GlobalBatch, o.Seed));
        _reducer = o.JoinGroup();
        WeightChecksum = _replica.SynchronizeWeights(_reducer);
        _buckets = o.Buckets(_replica, _reducer);
    }

    public Task<(StepResult Result, long Tokens)> TrainStepAsync(long step) => _thread.RunAsync(() =>
    {
        if (step != Step) throw new InvalidOperationException($"the replica is at step {Step}, not {step}");
        var result = _worker!.TrainStep(step, _options.Layout, _reducer!, out var tokens, _buckets);
        Step = step + 1;
        return (result, tokens);
    });

    /// <summary>Scores the replica on the evaluation file, or with <paramref name="test"/> on the test file (its
    /// metrics named <c>test_…</c>).</summary>
    public Task<Dictionary<string, double>> EvaluateAsync(bool test = false) => _thread.RunAsync(() =>
    {
        var o = _options;
        if (!test) return _worker!.Task.Evaluate(_replica!, o.EvalBatchSize);
        var path = o.TestFile ?? throw new InvalidOperationException("the job has no test file");
        var labels = _replica!.Spec.Labels.Count > 0 ? _replica.Spec.Labels : null;
        var testTask = FineTuningTask.Load(o.Task, _worker!.Task.Tokenizer, o.TrainFile, path, o.TaskOptions with { Problem = _replica.Spec.Problem }, labels);
        return testTask.Evaluate(_replica, o.EvalBatchSize).ToDictionary(kv => "test_" + kv.Key["eval_".Length..], kv => kv.Value);
    });

    public Task<string> SaveCheckpointAsync(long tokens, double loss) => _thread.RunAsync(() =>
        TrainingCheckpoint.Save(_options.CheckpointsDirectory, _replica!, new TrainerState { Step = Step, Tokens = tokens, Loss = loss, Job = _options.Job }));

    /// <summary>The fine-tuned model as a Hugging Face directory (with a frozen encoder: the head, referencing the
    /// pretrained directory), with the tokenizer files.</summary>
    public Task SaveModelAsync(string directory) => _thread.RunAsync(() => _replica!.Save(directory, _options.ModelDirectory, _options.ModelDirectory));

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _thread.RunAsync(() =>
            {
                _buckets?.Dispose();
                _reducer?.Dispose();
                _replica?.Dispose();
            });
        }
        finally { _thread.Dispose(); }
    }
}
