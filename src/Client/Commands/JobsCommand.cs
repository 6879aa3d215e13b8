using System.CommandLine;
using Cluster.Client.Connection;
using Cluster.Client.Training;
using Cluster.Grains;

namespace Cluster.Client.Commands;

/// <summary>`cluster jobs status|follow|cancel ID`: a job on a running cluster.</summary>
internal static class JobsCommand
{
    public static Command Create()
    {
        var jobs = new Command("jobs", "Inspect, follow or cancel a training job on a running cluster");
        foreach (var (verb, about) in new[] { ("status", "print a job's state"), ("follow", "follow a job's progress to its end"), ("cancel", "cancel a job") })
        {
            var options = new ClusterOptions();
            var id = new Argument<string>("ID") { Description = "the job id `cluster pretrain` printed" };
            var command = new Command(verb, about) { id };
            options.AddTo(command);
            command.SetAction(async (parsed, cancellation) =>
            {
                await using var connection = await ClusterConnection.ConnectAsync(options.Read(parsed), cancellation);
                var job = connection.Client.GetGrain<ITrainingJobGrain>(parsed.GetValue(id)!);
                var status = verb switch
                {
                    "cancel" => await job.Cancel(),
                    "follow" => (await JobFollower.FollowAsync(job, Console.Out, cancellation)).Status,
                    _ => await job.GetStatus(),
                };
                if (status.State == "pending") throw new ArgumentException($"no job {parsed.GetValue(id)} on this cluster");
                Console.WriteLine($"{status.JobId}: {status.State}, step {status.Step}/{status.MaxSteps}, workers {string.Join(", ", status.Workers)}{(status.Error is null ? "" : ", error: " + status.Error)}");
                return status.State is "failed" ? 1 : 0;
            });
            jobs.Subcommands.Add(command);
        }
        return jobs;
    }
}
