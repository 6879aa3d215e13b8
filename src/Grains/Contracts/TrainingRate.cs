namespace Cluster.Grains;

/// <summary>How fast a job goes, from the steps' own durations (the slowest worker's), not from when someone saw them:
/// the CLI's progress line and the dashboard both say it.</summary>
/// <param name="Remaining">the time the steps still to run take at the mean pace of <c>steps</c></param>
public sealed record TrainingRate(double TokensPerSecond, double SecondsPerStep, TimeSpan Remaining)
{
    /// <summary>The rate over <paramref name="steps"/> (null when there are none); the last one says where the job is.</summary>
    public static TrainingRate? Of(IReadOnlyList<TrainingStepRecord> steps, long maxSteps)
    {
        if (steps.Count == 0) return null;
        var seconds = steps.Sum(s => s.Seconds);
        var tokens = steps.Sum(s => s.Tokens);
        var perStep = seconds / steps.Count;
        var remaining = Math.Max(0, maxSteps - steps[^1].Step - 1) * perStep;
        return new TrainingRate(seconds > 0 ? tokens / seconds : 0, perStep, TimeSpan.FromSeconds(remaining));
    }
}
