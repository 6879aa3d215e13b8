using Cluster.Client.Connection;
using Cluster.Grains;

namespace Cluster.Client.Training;

/// <summary>Runs a training job and follows it to its end: on an in-process cluster of CPU workers (one silo each), or
/// submitted to a running cluster.</summary>
public static class JobRunner
{
    /// <summary>The job's final status and steps; null when Ctrl-C stopped following (in-process: the job was
    /// cancelled; on a cluster: it goes on).</summary>
    public static async Task<(JobStatus Status, List<TrainingStepRecord> Steps)?> RunAsync(TrainingJobSpec spec, ClusterConnectionSettings? remote, CancellationToken cancellation)
    {
        if (remote is null)
        {
            await using var embedded = await EmbeddedCluster.StartAsync(spec.Workers, cancellation);
            var job = embedded.GrainFactory.GetGrain<ITrainingJobGrain>(spec.JobId);
            await job.Start(spec with { ThreadsPerWorker = Math.Max(1, Environment.ProcessorCount / spec.Workers), DeviceKind = "cpu" });
            try { return await JobFollower.FollowAsync(job, Console.Out, cancellation); }
            catch (OperationCanceledException)
            {
                Console.WriteLine("interrupted: cancelling the job");
                await job.Cancel();
                return null;
            }
        }
        await using var connection = await ClusterConnection.ConnectAsync(remote, cancellation);
        var members = (await connection.Client.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key).GetStatus()).Members;
        var free = members.SelectMany(m => m.Devices).Count(d => d.Owner is null);
        if (free < spec.Workers) throw new ArgumentException($"--workers {spec.Workers}: the cluster has {free} free device(s)");
        var remoteJob = connection.Client.GetGrain<ITrainingJobGrain>(spec.JobId);
        await remoteJob.Start(spec);
        try { return await JobFollower.FollowAsync(remoteJob, Console.Out, cancellation); }
        catch (OperationCanceledException)
        {
            Console.WriteLine($"detached; the job goes on (cluster jobs follow {spec.JobId} --cluster {remote.Cluster})");
            return null;
        }
    }

    /// <summary>The exit code after Ctrl-C: 130 for a cancelled in-process job, 0 for a detached follower.</summary>
    public static int Interrupted(ClusterConnectionSettings? remote) => remote is null ? 130 : 0;
}
