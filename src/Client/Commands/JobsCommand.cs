using System.CommandLine;
using Cluster.Client.Connection;
using Cluster.Client.Training;
using Cluster.Grains;

namespace Cluster.Client.Commands;

/// <summary>`cluster jobs list` and `cluster jobs status|follow|cancel ID`: the jobs of a running cluster.</summary>
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
                Console.WriteLine(Line(status));
                return status.State is "failed" ? 1 : 0;
            });
            jobs.Subcommands.Add(command);
        }
        jobs.Subcommands.Add(List());
        return jobs;
    }

    static string Line(JobStatus s)
        => $"{s.JobId}: {s.State}, step {s.Step}/{s.MaxSteps}, workers {string.Join(", ", s.Workers)}{(s.Coordinator is null ? "" : $", coordinator {s.Coordinator}")}{(s.Error is null ? "" : ", error: " + s.Error)}";

    /// <summary>One line per job the cluster was given, oldest first.</summary>
    static Command List()
    {
        var options = new ClusterOptions();
        var command = new Command("list", "list the cluster's jobs, oldest first, with their states");
        options.AddTo(command);
        command.SetAction(async (parsed, cancellation) =>
        {
            await using var connection = await ClusterConnection.ConnectAsync(options.Read(parsed), cancellation);
            var ids = await connection.Client.GetGrain<IJobIndexGrain>(JobIndex.Key).List();
            if (ids.Count == 0) Console.WriteLine("no jobs");
            foreach (var id in ids) Console.WriteLine(Line(await connection.Client.GetGrain<ITrainingJobGrain>(id).GetStatus()));
            return 0;
        });
        return command;
    }
}
