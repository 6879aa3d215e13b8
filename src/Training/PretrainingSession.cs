using Cluster.Model.Configuration;
using Cluster.Model.Tokenization;
using Cluster.Torch;
using Cluster.Torch.Distributed;
using Cluster.Training.Batching;
using Cluster.Training.Checkpoints;
using Cluster.Training.Data;
using Cluster.Training.Masking;
using Cluster.Training.Reduction;
using Cluster.Training.Threading;

namespace Cluster.Training;

/// <summary>Everything one worker of a pretraining job needs to know.</summary>
public sealed record SessionOptions : GroupOptions
{
    public required PretrainedConfig Config { get; init; }
    public required string TokenizerDirectory { get; init; }
    public required string DataDirectory { get; init; }
    public required int MaxLength { get; init; }
    public required ExampleMode Mode { get; init; }
    public PretrainingObjective Objective { get; init; } = PretrainingObjective.MaskedLM;
}

/// <summary>One worker's part in a pretraining job: its device thread, the memory-mapped corpus, its replica and its
/// place in the group. Every member runs on the device thread; the methods return when it is done.</summary>
public sealed class PretrainingSession : ITrainingSession
{
    readonly DeviceThread _thread;
    readonly SessionOptions _options;
    TokenCorpus? _corpus;
    PretrainingReplica? _replica;
    PretrainingWorker? _worker;
    IGradientReducer? _reducer;
    BucketedReduction? _buckets;

    PretrainingSession(DeviceThread thread, SessionOptions options) => (_thread, _options) = (thread, options);

    /// <summary>The optimizer step the replica stands at (the checkpoint's, or 0).</summary>
    public long Step { get; private set; }
    public ulong WeightChecksum { get; private set; }

    /// <summary>Opens the corpus (refusing one made with another tokenizer), builds or loads the replica, joins the
    /// group (blocks until every rank has), and takes rank 0's weights.</summary>
    public static async Task<PretrainingSession> StartAsync(SessionOptions options)
    {
        var session = new PretrainingSession(new DeviceThread($"worker {options.Job}/{options.Layout.Rank}", options.Threads), options);
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
        _corpus = TokenCorpus.Open(o.DataDirectory, TokenizerFingerprint.Compute(o.TokenizerDirectory));
        var manifest = _corpus.Manifest;
        if (manifest.ModelType != o.Config.model_type)
            throw new CorpusException($"{o.DataDirectory} holds {manifest.ModelType} tokens, the model is {o.Config.model_type}");
        if (manifest.VocabSize > o.Config.vocab_size)
            throw new CorpusException($"the tokenizer has {manifest.VocabSize} tokens, more than the config's vocab_size {o.Config.vocab_size}");
        var examples = new PretrainingExamples(_corpus, o.MaxLength, o.Mode);
        var masking = new DynamicMasking(manifest.MaskTokenId, manifest.VocabSize, manifest.SpecialTokenIds.ToHashSet());
        _replica = PretrainingReplica.Create(o.Config, o.Seed, o.Optimizer, o.Device, o.Objective);
        if (o.Checkpoint is not null) Step = TrainingCheckpoint.Load(o.Checkpoint, _replica).Step;
        var plan = new GlobalBatchPlan(examples.Count, o.Layout.GlobalBatch, o.Seed);
        var attack = o.Objective == PretrainingObjective.RoCBertContrastive
            ? CharacterAttack.FromTokenizer(RoCBertTokenizerFiles.Load(o.TokenizerDirectory))
            : null;
        if (attack is { CanAttackAnything: false })
            throw new CorpusException($"{o.TokenizerDirectory}: word_shape.json and word_pronunciation.json give no token an alternative, so nothing can be attacked");
        _worker = new PretrainingWorker(_replica, examples, masking, plan, o.Seed, manifest.PadTokenId, attack);
        _reducer = o.JoinGroup();
        WeightChecksum = _worker.SynchronizeWeights(_reducer);
        // One replica has nothing to overlap; RoCBert's contrastive step reduces after its backward (see TrainStep).
        if (o.Objective == PretrainingObjective.MaskedLM) _buckets = o.Buckets(_replica, _reducer);
    }

    public Task<(StepResult Result, long Tokens)> TrainStepAsync(long step) => _thread.RunAsync(() =>
    {
        if (step != Step) throw new InvalidOperationException($"the replica is at step {Step}, not {step}");
        var result = _worker!.TrainStep(step, _options.Layout, _reducer!, out var tokens, _buckets);
        Step = step + 1;
        return (result, tokens);
    });

    public Task<string> SaveCheckpointAsync(long tokens, double loss) => _thread.RunAsync(() =>
        TrainingCheckpoint.Save(_options.CheckpointsDirectory, _replica!, new TrainerState { Step = Step, Tokens = tokens, Loss = loss, Job = _options.Job }));

    public Task SaveModelAsync(string directory) => _thread.RunAsync(() => _replica!.Model.SavePretrained(directory, _options.TokenizerDirectory));

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _thread.RunAsync(() =>
            {
                _buckets?.Dispose();
                _reducer?.Dispose();
                _replica?.Dispose();
                _corpus?.Dispose();
            });
        }
        finally { _thread.Dispose(); }
    }
}
