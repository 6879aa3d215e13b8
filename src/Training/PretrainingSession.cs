using Cluster.Model.Configuration;
using Cluster.Model.Tokenization;
using Cluster.Training.Batching;
using Cluster.Training.Data;
using Cluster.Training.Masking;

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
public sealed class PretrainingSession : TrainingSession<PretrainingReplica>
{
    readonly SessionOptions _options;
    TokenCorpus? _corpus;
    PretrainingWorker? _worker;

    PretrainingSession(SessionOptions options) : base(options) => _options = options;

    /// <summary>Opens the corpus (refusing one made with another tokenizer), builds or loads the replica, joins the
    /// group (blocks until every rank has), and takes rank 0's weights.</summary>
    public static Task<PretrainingSession> StartAsync(SessionOptions options) => StartAsync(new PretrainingSession(options));

    protected override void Start()
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
        var attack = o.Objective == PretrainingObjective.RoCBertContrastive
            ? CharacterAttack.FromTokenizer(RoCBertTokenizerFiles.Load(o.TokenizerDirectory))
            : null;
        if (attack is { CanAttackAnything: false })
            throw new CorpusException($"{o.TokenizerDirectory}: word_shape.json and word_pronunciation.json give no token an alternative, so nothing can be attacked");
        var replica = PretrainingReplica.Create(o.Config, o.Seed, o.Optimizer, o.Device, o.Objective);
        _worker = new PretrainingWorker(replica, examples, masking, new GlobalBatchPlan(examples.Count, o.Layout.GlobalBatch, o.Seed), o.Seed, manifest.PadTokenId, attack);
        JoinGroup(replica);
        // One replica has nothing to overlap; RoCBert's contrastive step reduces after its backward (see TrainStep).
        if (o.Objective == PretrainingObjective.MaskedLM) Buckets = o.Buckets(replica, Reducer!);
    }

    protected override StepResult Train(long step, out long tokens) => _worker!.TrainStep(step, _options.Layout, Reducer!, out tokens, Buckets);

    public override Task SaveModelAsync(string directory) => OnThread(() => Replica!.Model.SavePretrained(directory, _options.TokenizerDirectory));

    protected override void DisposeOnThread() => _corpus?.Dispose();
}
