using Cluster.Testing;

namespace Cluster.Grains.Tests;

/// <summary>What the job tests share: a small job on the test corpus, and waiting for a job's end.</summary>
internal static class JobTesting
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

    /// <summary>The job's final status; a hang guard of minutes, not a speed test.</summary>
    public static async Task<JobStatus> RunToEndAsync(ITrainingJobGrain job)
    {
        JobStatus? status = null;
        Assert.True(await Eventually.HoldsAsync(async () => (status = await job.GetStatus()).Finished, TimeSpan.FromMinutes(8)), "the job did not finish");
        return status!;
    }

    public static string Describe(JobStatus status) => $"{status.State}: {status.Error}\n{string.Join("\n", status.Events)}";
}
