namespace Cluster.Training;

/// <summary>How a group that lost workers keeps its global batch: the job was planned as W workers × K accumulation
/// micro-batches (× B examples each); with fewer devices it takes the most workers W′ that divide W·K, and raises
/// accumulation to K′ = W·K / W′, so W′·K′·B is the batch it had and every step trains on the same examples.</summary>
public static class ElasticLayout
{
    /// <returns>(workers, accumulation); (0, 0) when <paramref name="available"/> is 0.</returns>
    public static (int Workers, int Accumulation) Reform(int plannedWorkers, int plannedAccumulation, int available)
    {
        if (plannedWorkers < 1) throw new ArgumentOutOfRangeException(nameof(plannedWorkers), plannedWorkers, "a job has at least one worker");
        if (plannedAccumulation < 1) throw new ArgumentOutOfRangeException(nameof(plannedAccumulation), plannedAccumulation, "accumulation is at least 1");
        if (available < 0) throw new ArgumentOutOfRangeException(nameof(available), available, "a device count is not negative");
        var shares = plannedWorkers * plannedAccumulation;
        for (var workers = Math.Min(available, shares); workers >= 1; workers--)
            if (shares % workers == 0) return (workers, shares / workers);
        return (0, 0);
    }
}
