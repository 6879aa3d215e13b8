using Cluster.Grains;

namespace Cluster.Silo.Dashboard;

/// <summary>Asks the cluster's grains what the dashboard shows. Each call to a grain that may sit on a dead silo is
/// bounded, so one dead member slows a refresh by seconds, not by Orleans' response timeout.</summary>
public sealed class DashboardData(IGrainFactory grains)
{
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    /// <summary>Steps the pace (tokens/s, ETA) is measured over: the job as it goes now, not its warm-up.</summary>
    public const int PaceSteps = 20;

    /// <summary>Jobs the page lists, newest first.</summary>
    public const int ListedJobs = 50;

    public async Task<ClusterView> ClusterAsync(string thisSilo)
    {
        var status = await grains.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key).GetStatus().WaitAsync(Patience);
        var members = await Task.WhenAll(status.Members.Select(async m =>
        {
            var report = m.Status == "Active" ? await ReportAsync(m.Silo) : null;
            return new MemberView(m.Name, m.Silo, m.Status, m.Devices.Select(d => new DeviceView(d.Device, d.Owner)).ToList(),
                report?.ProcessId, report?.WorkingSetBytes, report?.StartedAt, report?.OrleansVersion);
        }));
        return new ClusterView(thisSilo, members);
    }

    async Task<SiloReport?> ReportAsync(string silo)
    {
        try { return await grains.GetGrain<IDiagnosticsGrain>(silo).Report().WaitAsync(Patience); }
        catch (Exception e) when (e is TimeoutException or OrleansException) { return null; }
    }

    public async Task<IReadOnlyList<JobView>> JobsAsync()
    {
        var ids = await grains.GetGrain<IJobIndexGrain>(JobIndex.Key).List().WaitAsync(Patience);
        return await Task.WhenAll(ids.Reverse().Take(ListedJobs).Select(JobAsync));
    }

    public async Task<bool> JobExistsAsync(string id) =>
        (await grains.GetGrain<IJobIndexGrain>(JobIndex.Key).List().WaitAsync(Patience)).Contains(id);

    public async Task<JobView> JobAsync(string id)
    {
        var job = grains.GetGrain<ITrainingJobGrain>(id);
        try
        {
            var status = await job.GetStatus().WaitAsync(Patience);
            var recent = (await job.Progress(status.Step - PaceSteps - 1).WaitAsync(Patience)).Steps;
            return View(status, recent);
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            return new JobView(id, "unknown", 0, 0, [], null, $"the job did not answer: {e.FirstLine()}", null,
                null, null, null, [], [], Reachable: false);
        }
    }

    public async Task<JobView> CancelAsync(string id)
    {
        var job = grains.GetGrain<ITrainingJobGrain>(id);
        await job.Cancel().WaitAsync(Patience);
        return await JobAsync(id);
    }

    /// <summary>The loss after step <paramref name="after"/> (in the CLI's counting, from 1; 0 for all kept).</summary>
    public async Task<StepsView> StepsAsync(string id, long after)
    {
        var progress = await grains.GetGrain<ITrainingJobGrain>(id).Progress(after - 1).WaitAsync(Patience);
        return new StepsView(progress.Status.State, progress.Steps.Select(s => new[] { s.Step + 1.0, s.Loss }).ToList());
    }

    public async Task<ModelsView> ModelsAsync()
    {
        var registry = grains.GetGrain<IServingRegistryGrain>(ServingRegistry.Key);
        var (models, preferred) = (registry.List(), registry.DefaultModel());
        return new ModelsView(await preferred.WaitAsync(Patience), await models.WaitAsync(Patience));
    }

    static JobView View(JobStatus status, IReadOnlyList<TrainingStepRecord> recent)
    {
        var rate = TrainingRate.Of(recent, status.MaxSteps);
        var running = status.State == "running";
        return new JobView(status.JobId, status.State, status.Step, status.MaxSteps, status.Workers, status.Coordinator, status.Error,
            status.LastCheckpoint, recent.Count > 0 ? recent[^1].Loss : null, rate?.TokensPerSecond,
            running ? rate?.Remaining.TotalSeconds : null, status.Events.TakeLast(6).ToList(), status.Evaluations ?? []);
    }
}
