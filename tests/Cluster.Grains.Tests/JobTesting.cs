using Cluster.Testing;

namespace Cluster.Grains.Tests;

/// <summary>What the job tests share: waiting for a job's end (the job itself: <see cref="TestJobs"/>).</summary>
internal static class JobTesting
{
    /// <summary>The job's final status; a hang guard of minutes, not a speed test.</summary>
    public static async Task<JobStatus> RunToEndAsync(ITrainingJobGrain job)
    {
        JobStatus? status = null;
        Assert.True(await Eventually.HoldsAsync(async () => (status = await job.GetStatus()).Finished, TimeSpan.FromMinutes(8)), "the job did not finish");
        return status!;
    }

    public static string Describe(JobStatus status) => $"{status.State}: {status.Error}\n{string.Join("\n", status.Events)}";
}
