namespace Cluster.Grains;

/// <summary>A training job as the cluster runs it: data-parallel pretraining of a fresh model (masked LM, or RoCBert's
/// contrastive recipe), or with <see cref="FineTuning"/> fine-tuning a pretrained one under a task head. Paths are seen
/// by every worker (one machine, or storage all silos mount).</summary>
[GenerateSerializer, Immutable, Alias("cluster.PretrainingJobSpec")]
public sealed record TrainingJobSpec
{
    [Id(0)] public required string JobId { get; init; }
    /// <summary>config.json of the model to train (roberta or roc_bert), as text.</summary>
    [Id(1)] public required string ConfigJson { get; init; }
    [Id(2)] public required string TokenizerDirectory { get; init; }
    /// <summary>A prepared corpus (`cluster data prepare`).</summary>
    [Id(3)] public required string DataDirectory { get; init; }
    [Id(4)] public required string OutputDirectory { get; init; }
    [Id(5)] public int Workers { get; init; } = 1;
    /// <summary>Examples per worker per micro-batch.</summary>
    [Id(6)] public int BatchSize { get; init; } = 8;
    [Id(7)] public int GradientAccumulation { get; init; } = 1;
    [Id(8)] public int MaxLength { get; init; } = 128;
    /// <summary><c>packed</c> or <c>line</c>.</summary>
    [Id(9)] public string ExampleMode { get; init; } = "packed";
    [Id(10)] public long MaxSteps { get; init; } = 100;
    [Id(11)] public double LearningRate { get; init; } = 5e-4;
    [Id(12)] public long WarmupSteps { get; init; }
    [Id(13)] public double WeightDecay { get; init; } = 0.01;
    [Id(14)] public double MaxGradNorm { get; init; } = 1.0;
    [Id(15)] public ulong Seed { get; init; } = 42;
    /// <summary>Save a training checkpoint every this many steps (0: only at the end).</summary>
    [Id(16)] public long CheckpointEvery { get; init; }
    /// <summary><c>collective</c> (c10d: Gloo on CPU, NCCL on CUDA) or <c>coordinator</c> (each rank sends its buffer
    /// to a reduction server the coordinator hosts, over the data plane, and gets the sum back).</summary>
    [Id(17)] public string AllReduce { get; init; } = "collective";
    /// <summary>Which devices to train on: <c>cpu</c>, <c>cuda</c>, or null for any.</summary>
    [Id(18)] public string? DeviceKind { get; init; }
    /// <summary>Continue from the newest checkpoint under OutputDirectory/checkpoints.</summary>
    [Id(19)] public bool Resume { get; init; }
    /// <summary>libtorch threads per worker (0: the machine's cores shared among its workers).</summary>
    [Id(20)] public int ThreadsPerWorker { get; init; }
    /// <summary>How long a collective waits for a missing rank before it fails (a worker whose peer vanished without
    /// closing its connections); the coordinator also gives up on a step's calls after this, plus failure detection.</summary>
    [Id(21)] public int CollectiveTimeoutSeconds { get; init; } = 120;
    /// <summary>How many times the job re-forms its group after losing workers before it fails.</summary>
    [Id(22)] public int MaxRecoveries { get; init; } = 5;
    /// <summary>"mlm" (masked LM), or "contrastive": RoCBert's recipe, masked LM over every token plus the contrastive
    /// loss against synthesised attacks, its negatives gathered from every worker.</summary>
    [Id(23)] public string Objective { get; init; } = "mlm";
    /// <summary>Gradients are reduced in buckets of about this many MB while backward still runs (DDP's
    /// <c>bucket_cap_mb</c>); 0: all at once after backward.</summary>
    [Id(24)] public double BucketMegabytes { get; init; } = 25;
    /// <summary>Set for a fine-tuning job: what to fine-tune on what (ConfigJson and TokenizerDirectory then describe
    /// the pretrained model; DataDirectory is unused).</summary>
    [Id(25)] public FineTuningJobSpec? FineTuning { get; init; }
    /// <summary>AdamW's β2 and ε: fairseq's RoBERTa pretraining values by default; the Hugging Face Trainer's
    /// (0.999, 1e-8) for fine-tuning.</summary>
    [Id(26)] public double Beta2 { get; init; } = 0.98;
    [Id(27)] public double Epsilon { get; init; } = 1e-6;
    /// <summary>Mixed precision (the Hugging Face Trainer's <c>--bf16</c>): forward passes under bf16 autocast, weights,
    /// gradients and optimizer state float32.</summary>
    [Id(28)] public bool Bf16 { get; init; }

    public int GlobalBatch => Workers * GradientAccumulation * BatchSize;
}

/// <summary>What a fine-tuning job trains: a task head on a pretrained model, from labelled files.</summary>
[GenerateSerializer, Immutable, Alias("cluster.FineTuningJobSpec")]
public sealed record FineTuningJobSpec
{
    /// <summary>sequence-classification, token-classification, question-answering or multiple-choice.</summary>
    [Id(0)] public required string Task { get; init; }
    /// <summary>The pretrained model directory (ours, or a Hugging Face one), with its tokenizer files.</summary>
    [Id(1)] public required string ModelDirectory { get; init; }
    [Id(2)] public required string TrainFile { get; init; }
    [Id(3)] public required string EvalFile { get; init; }
    [Id(4)] public string? TestFile { get; init; }
    [Id(5)] public int DocStride { get; init; } = 128;
    /// <summary>single_label_classification, multi_label_classification or regression; null: from the labels.</summary>
    [Id(6)] public string? ProblemType { get; init; }
    [Id(7)] public int? NumLabels { get; init; }
    [Id(8)] public int MaxAnswerLength { get; init; } = 30;
    [Id(9)] public double NullScoreThreshold { get; init; }
    /// <summary>Train the head only; the saved model is the head with a hash-checked reference to ModelDirectory.</summary>
    [Id(10)] public bool FreezeEncoder { get; init; }
    /// <summary>Evaluate every this many steps (0: at the end only).</summary>
    [Id(11)] public long EvalEvery { get; init; }
    /// <summary>Keep the model of the best evaluation by this metric (e.g. eval_accuracy, eval_loss) in OUT/best.</summary>
    [Id(12)] public string? SaveBest { get; init; }
    [Id(13)] public int EvalBatchSize { get; init; } = 32;
    [Id(14)] public double Epochs { get; init; } = 3;
    /// <summary>A head saved in ModelDirectory with another shape (another label count) is replaced by a new one.</summary>
    [Id(15)] public bool IgnoreMismatchedSizes { get; init; }
}

/// <summary>One evaluation of a fine-tuning job: the step after which it ran and its metrics (HF's names).</summary>
[GenerateSerializer, Immutable, Alias("cluster.EvaluationRecord")]
public sealed record EvaluationRecord([property: Id(0)] long Step, [property: Id(1)] Dictionary<string, double> Metrics);

/// <summary>One optimizer step as the job recorded it.</summary>
[GenerateSerializer, Immutable, Alias("cluster.TrainingStepRecord")]
public sealed record TrainingStepRecord(
    [property: Id(0)] long Step,
    [property: Id(1)] double Loss,
    [property: Id(2)] double LearningRate,
    [property: Id(3)] double GradientNorm,
    [property: Id(4)] long Tokens,
    [property: Id(5)] double Seconds,
    [property: Id(6)] double ContrastiveLoss = double.NaN,
    /// <summary>Seconds the step's gradient all-reduce took, and those of them the step waited for after backward (the
    /// slowest worker's).</summary>
    [property: Id(7)] double AllReduceSeconds = 0,
    [property: Id(8)] double ExposedAllReduceSeconds = 0);

[GenerateSerializer, Immutable, Alias("cluster.JobStatus")]
public sealed record JobStatus(
    [property: Id(0)] string JobId,
    /// <summary><c>pending</c>, <c>starting</c>, <c>running</c>, <c>completed</c>, <c>failed</c>, <c>cancelled</c>.</summary>
    [property: Id(1)] string State,
    [property: Id(2)] long Step,
    [property: Id(3)] long MaxSteps,
    [property: Id(4)] IReadOnlyList<string> Workers,
    [property: Id(5)] string? LastCheckpoint,
    [property: Id(6)] string? Error,
    /// <summary>Lines a person should see: what the job did (started, resumed, saved, failed).</summary>
    [property: Id(7)] IReadOnlyList<string> Events,
    /// <summary>The silo the coordinator runs on.</summary>
    [property: Id(8)] string? Coordinator = null,
    /// <summary>A fine-tuning job's evaluations, in order (the last: the final model's, with test_ metrics if asked).</summary>
    [property: Id(9)] IReadOnlyList<EvaluationRecord>? Evaluations = null)
{
    public bool Finished => State is "completed" or "failed" or "cancelled";
}

/// <summary>The steps after the one a follower has seen, with the job's status.</summary>
[GenerateSerializer, Immutable, Alias("cluster.JobProgress")]
public sealed record JobProgress(
    [property: Id(0)] JobStatus Status,
    [property: Id(1)] IReadOnlyList<TrainingStepRecord> Steps);

/// <summary>The coordinator of one job (keyed by job id): picks workers from the device registry, makes their
/// replicas identical, sequences the steps, saves checkpoints and the final model.</summary>
[Alias("cluster.ITrainingJobGrain")]
public interface ITrainingJobGrain : IGrainWithStringKey
{
    /// <summary>Validates and starts the job; it runs on after this returns.</summary>
    [Alias("Start")]
    Task<JobStatus> Start(TrainingJobSpec spec);

    [Alias("GetStatus")]
    Task<JobStatus> GetStatus();

    /// <summary>The status, and the steps recorded after <paramref name="afterStep"/> (−1: all kept).</summary>
    [Alias("Progress")]
    Task<JobProgress> Progress(long afterStep);

    [Alias("Cancel")]
    Task<JobStatus> Cancel();
}
