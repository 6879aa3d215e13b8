using Cluster.Grains;

namespace Cluster.Testing;

/// <summary>A small pretraining job on the test corpus: two CPU workers, one libtorch thread each.</summary>
public static class TestJobs
{
    public static TrainingJobSpec Spec(TestCorpus corpus, string id, string output, long steps = 4) => new()
    {
        JobId = id,
        ConfigJson = corpus.TinyConfig().ToJson(),
        TokenizerDirectory = corpus.TokenizerDirectory,
        DataDirectory = corpus.ShardDirectory,
        OutputDirectory = output,
        Workers = 2, BatchSize = 4, GradientAccumulation = 1, MaxLength = 24, MaxSteps = steps,
        LearningRate = 3e-3, WarmupSteps = 1, Seed = 42, CheckpointEvery = 2, ThreadsPerWorker = 1, DeviceKind = "cpu",
    };
}
