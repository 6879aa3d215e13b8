using System.Diagnostics;
using Cluster.Grains;

namespace Cluster.Client.Training;

/// <summary>Follows a running job for a person: its events as they happen, and a progress line (step, loss, learning
/// rate, tokens/s, ETA) at most once a second and at the end.</summary>
public static class JobFollower
{
    /// <summary>How long the job may not answer before following it fails (membership declares a dead silo in well
    /// under this; the job then answers from its new activation).</summary>
    public static readonly TimeSpan LostContactLimit = TimeSpan.FromMinutes(5);

    public static async Task<(JobStatus Status, List<TrainingStepRecord> Steps)> FollowAsync(ITrainingJobGrain job, TextWriter output, CancellationToken stop)
    {
        var steps = new List<TrainingStepRecord>();
        var (events, lastPrinted) = (0, Stopwatch.StartNew());
        Stopwatch? outOfContact = null;
        while (true)
        {
            JobProgress progress;
            try { progress = await job.Progress(steps.Count == 0 ? -1 : steps[^1].Step); }
            // The job's grain or this client's gateway was on a silo that died: the job goes on (its grain is
            // re-activated on another silo once membership declares the dead one), so keep asking for a while.
            catch (Exception e) when (e is TimeoutException or Orleans.Runtime.OrleansException && !stop.IsCancellationRequested)
            {
                if (outOfContact is null) output.WriteLine($"{DateTime.Now:HH:mm:ss} lost contact with the job ({e.GetType().Name}); still asking");
                outOfContact ??= Stopwatch.StartNew();
                if (outOfContact.Elapsed > LostContactLimit) throw;
                await Task.Delay(TimeSpan.FromSeconds(1), stop);
                continue;
            }
            if (outOfContact is not null) output.WriteLine($"{DateTime.Now:HH:mm:ss} in contact with the job again after {outOfContact.Elapsed.TotalSeconds:F0} s");
            outOfContact = null;
            foreach (var line in progress.Status.Events.Skip(events)) output.WriteLine(line);
            events = progress.Status.Events.Count;
            steps.AddRange(progress.Steps);
            if (progress.Steps.Count > 0)
            {
                if (lastPrinted.Elapsed > TimeSpan.FromSeconds(1) || progress.Status.Finished)
                {
                    output.WriteLine(Line(steps, progress.Status));
                    lastPrinted.Restart();
                }
            }
            if (progress.Status.Finished) return (progress.Status, steps);
            await Task.Delay(TimeSpan.FromMilliseconds(500), stop);
        }
    }

    static string Line(List<TrainingStepRecord> steps, JobStatus status)
    {
        var last = steps[^1];
        var rate = TrainingRate.Of(steps, status.MaxSteps)!;
        var contrastive = double.IsNaN(last.ContrastiveLoss) ? "" : $" (contrastive {last.ContrastiveLoss:F4})";
        return $"step {last.Step + 1}/{status.MaxSteps}  loss {last.Loss:F4}{contrastive}  lr {last.LearningRate:0.00e+00}  {rate.TokensPerSecond:N0} tokens/s  ETA {rate.Remaining:h\\:mm\\:ss}";
    }
}
