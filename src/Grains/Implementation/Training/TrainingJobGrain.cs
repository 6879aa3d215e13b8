using System.Globalization;
using Cluster.Grains.Hosting;
using Cluster.Training.Checkpoints;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Cluster.Grains.Training;

/// <summary>The coordinator of one job: leases devices from the registry, hosts the c10d rendezvous, makes every
/// replica start from rank 0's weights (checked by checksum), sequences the steps, saves checkpoints and the model.
/// It owns nothing numeric: the workers do the tensor work on their devices' threads.</summary>
public sealed class TrainingJobGrain(
    [PersistentState("training-job", ClusterSiloBuilderExtensions.StorageName)] IPersistentState<TrainingJobState> job,
    ILocalSiloDetails silo,
    IClusterMembershipService membership,
    JobWatch watch,
    LocalSilo local,
    ILogger<TrainingJobGrain> log) : Grain, ITrainingJobGrain, IRemindable
{
    /// <summary>Steps kept for followers; older ones are in metrics.csv.</summary>
    const int KeptSteps = 10_000;
    const string WatchReminder = "coordinator-watch";
    CancellationTokenSource? _cancel;
    Task? _run;
    /// <summary>Set when the activation goes away under a running job (its silo shuts down): the run stops without
    /// ending the job, which resumes wherever the reminder next wakes it.</summary>
    bool _suspending;

    TrainingJobState S => job.State;

    public async Task<JobStatus> Start(TrainingJobSpec spec)
    {
        if (S.Spec is not null && S.State is not ("completed" or "failed" or "cancelled"))
            throw new InvalidOperationException($"job {spec.JobId} is already {S.State}");
        if (spec.JobId != this.GetPrimaryKeyString()) throw new ArgumentException($"the spec's job id {spec.JobId} is not this job's ({this.GetPrimaryKeyString()})");
        if (spec.AllReduce is not ("collective" or "coordinator")) throw new ArgumentException($"unknown all-reduce backend '{spec.AllReduce}' (known: collective, coordinator)");
        if (spec.Objective is not ("mlm" or "contrastive")) throw new ArgumentException($"unknown objective '{spec.Objective}' (known: mlm, contrastive)");
        if (!(spec.BucketMegabytes >= 0)) throw new ArgumentException($"the gradient bucket size must be 0 MB or more, not {spec.BucketMegabytes}");
        if (spec.FineTuning is { } ft) JobEvaluation.Check(ft);
        job.State = new TrainingJobState { Spec = spec, State = "starting" };
        Event($"job {spec.JobId}: {spec.Workers} worker(s) × batch {spec.BatchSize} × {spec.GradientAccumulation} accumulation = global batch {spec.GlobalBatch}, {spec.MaxSteps} steps");
        await job.WriteStateAsync();
        await this.RegisterOrUpdateReminder(WatchReminder, watch.Period, watch.Period);
        await GrainFactory.GetGrain<IJobIndexGrain>(JobIndex.Key).Add(spec.JobId);
        Launch(spec);
        return Status();
    }

    void Launch(TrainingJobSpec spec)
    {
        _cancel = new CancellationTokenSource();
        DelayDeactivation(TimeSpan.FromDays(30)); // the run loop is not a request: keep the activation while it runs
        _run = RunAsync(spec, _cancel.Token);
    }

    bool Unfinished => S.Spec is not null && S.State is "starting" or "running";

    /// <summary>A job whose state says it runs, on an activation that runs nothing, lost its coordinator: this
    /// activation takes over from the last checkpoint. Whichever comes first wakes it: the reminder, or a call.</summary>
    public override Task OnActivateAsync(CancellationToken cancellation)
    {
        if (Unfinished) TakeOver();
        return Task.CompletedTask;
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != WatchReminder) return;
        if (!Unfinished)
        {
            await UnregisterWatchAsync();
            return;
        }
        if (_run is null || _run.IsCompleted) TakeOver();
    }

    void TakeOver()
    {
        Event($"coordinator taking over on silo {silo.SiloAddress.ToParsableString()} at step {S.Step}; resuming from {S.LastCheckpoint ?? "the start"}");
        Launch(S.Spec! with { Resume = true });
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellation)
    {
        if (_run is null || _run.IsCompleted || _cancel is null) return;
        _suspending = true;
        _cancel.Cancel();
        await _run.WaitAsync(cancellation).ContinueWith(_ => { }, TaskScheduler.Current);
    }

    async Task UnregisterWatchAsync()
    {
        try
        {
            if (await this.GetReminder(WatchReminder) is { } reminder) await this.UnregisterReminder(reminder);
        }
        catch (Exception e) { log.LogWarning("job {Job}: the watch reminder stays ({Error}); it ends itself when it next fires", this.GetPrimaryKeyString(), e.Message); }
    }

    public Task<JobStatus> GetStatus() => Task.FromResult(Status());

    public Task<JobProgress> Progress(long afterStep)
        => Task.FromResult(new JobProgress(Status(), S.Steps.Where(s => s.Step > afterStep).ToList()));

    public async Task<JobStatus> Cancel()
    {
        if (_cancel is null || _run is null || _run.IsCompleted) return Status();
        _cancel.Cancel();
        await _run;
        return Status();
    }

    JobStatus Status() => new(this.GetPrimaryKeyString(), S.State, S.Step, S.Spec?.MaxSteps ?? 0, S.Workers.ToList(), S.LastCheckpoint, S.Error, S.Events.ToList(),
        silo.SiloAddress.ToParsableString(), S.Evaluations.ToList());

    void Event(string line)
    {
        S.Events.Add($"{DateTime.UtcNow:HH:mm:ss} {line}");
        log.LogInformation("{Line}", line);
    }

    async Task RunAsync(TrainingJobSpec spec, CancellationToken cancellation)
    {
        var registry = GrainFactory.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key);
        var calls = new GroupCalls(membership, TimeSpan.FromSeconds(spec.CollectiveTimeoutSeconds));
        var members = new List<GroupMember>();
        WorkerGroup? group = null;
        // The final state is set only after the devices are released, so a follower that sees the job finished finds them free.
        string outcome;
        try
        {
            var accumulation = spec.GradientAccumulation;
            if (S.State == "starting")
                for (var slot = 0; slot < spec.Workers; slot++)
                    members.Add(Member(await SiloLossRetry.CallAsync(() => registry.Acquire(new DeviceRequest(Owner(spec, slot), spec.DeviceKind)))));
            else
            {
                // Taking over from a coordinator that died: its silo may have taken workers with it.
                (members, accumulation) = await ReformAsync(registry, spec, [], []);
                if (members.Count < spec.Workers) Event(Reforming(spec, members, accumulation));
            }
            var checkpoint = spec.Resume ? TrainingCheckpoint.Latest(CheckpointsDirectory(spec)) : null;
            for (var recoveries = 0; ; recoveries++)
            {
                try
                {
                    group = await FormAsync(calls, spec, members, accumulation, checkpoint);
                    await TrainAsync(calls, group, spec, cancellation);
                    break;
                }
                catch (WorkersLostException lost) when (recoveries < spec.MaxRecoveries && !cancellation.IsCancellationRequested)
                {
                    Event($"{lost.Message} at step {S.Step}");
                    if (group is not null) await group.DisposeAsync();
                    group = null;
                    (members, accumulation) = await ReformAsync(registry, spec, members, lost.Lost);
                    checkpoint = TrainingCheckpoint.Latest(CheckpointsDirectory(spec)); // only complete ones: a half-written one is never renamed into place
                    Event($"{Reforming(spec, members, accumulation)}, from {checkpoint ?? "the initial weights"}");
                }
            }
            if (_suspending)
            {
                outcome = S.State;
                Event($"coordinator stopping at step {S.Step} (its activation is going away); the job resumes where its reminder next wakes it");
            }
            else if (cancellation.IsCancellationRequested)
            {
                outcome = "cancelled";
                Event($"cancelled at step {S.Step}");
            }
            else
            {
                outcome = "completed";
                Event($"completed {S.Step} steps; model saved to {spec.OutputDirectory}");
            }
        }
        catch (Exception) when (_suspending)
        {
            outcome = S.State;
        }
        catch (Exception e)
        {
            outcome = "failed";
            S.Error = e.FirstLine();
            Event($"failed at step {S.Step}: {S.Error}");
        }
        finally
        {
            // A suspended run hands over: the next coordinator may already hold the same leases (same owners) and
            // have joined the same workers, so this one releases nothing, tells no worker to leave, and writes no
            // state (its write would make the next one's stale); the last checkpoint's state is what resumes.
            if (_suspending) group?.CloseRendezvous();
            else
            {
                if (group is not null) await group.DisposeAsync();
                foreach (var member in members)
                    try { await SiloLossRetry.CallAsync(() => registry.Release(member.Lease.Key, member.Lease.Owner)); } catch (Exception) { }
                if (S.Steps.Count > 0) await TrainingMetricsFile.WriteAsync(spec.OutputDirectory, S.Steps);
            }
        }
        if (_suspending) return;
        S.State = outcome;
        await job.WriteStateAsync();
        await UnregisterWatchAsync();
        DelayDeactivation(TimeSpan.FromMinutes(30)); // followers may still ask how it ended
    }

    static string Reforming(TrainingJobSpec spec, List<GroupMember> members, int accumulation) =>
        $"re-forming with {members.Count} worker(s) × batch {spec.BatchSize} × {accumulation} accumulation = global batch {spec.GlobalBatch}";

    static string Owner(TrainingJobSpec spec, int slot) => $"{spec.JobId}/{slot}";
    static string CheckpointsDirectory(TrainingJobSpec spec) => Path.Combine(spec.OutputDirectory, "checkpoints");
    GroupMember Member(DeviceLease lease) => new(lease, GrainFactory.GetGrain<IWorkerGrain>(lease.Key));

    /// <summary>Starts the group at <paramref name="checkpoint"/>'s step (or 0) and takes the job's record back to it.</summary>
    async Task<WorkerGroup> FormAsync(GroupCalls calls, TrainingJobSpec spec, List<GroupMember> members, int accumulation, string? checkpoint)
    {
        var host = silo.SiloAddress.Endpoint.Address.ToString();
        var (group, ready) = await WorkerGroup.FormAsync(calls, spec, members, accumulation, host, checkpoint, local.BulkSecurity);
        S.Workers = members.Select(m => m.Name).ToList();
        S.Step = ready.Step;
        S.LastCheckpoint = checkpoint;
        S.Steps = checkpoint is null ? [] : (S.Steps.Count > 0 ? S.Steps : await TrainingMetricsFile.ReadAsync(spec.OutputDirectory)).Where(s => s.Step < S.Step).ToList();
        S.Evaluations = S.Evaluations.Where(e => e.Step <= S.Step).ToList();
        S.BestScore = spec.FineTuning?.SaveBest is { } metric ? JobEvaluation.Best(metric, S.Evaluations) : double.NaN;
        var first = S.State == "starting";
        S.State = "running";
        Event(checkpoint is null && first
            ? $"replicas on {string.Join(", ", S.Workers)} start from identical weights (checksum {ready.WeightChecksum:x16})"
            : $"{(first ? "resumed" : "continuing")} at step {S.Step} from {checkpoint ?? "the initial weights"} on {string.Join(", ", S.Workers)}");
        await job.WriteStateAsync();
        return group;
    }

    /// <summary>Steps to the end (or the cancellation), with the checkpoints the spec asks for, the last one, and the model.</summary>
    async Task TrainAsync(GroupCalls calls, WorkerGroup group, TrainingJobSpec spec, CancellationToken cancellation)
    {
        long tokens = S.Steps.Sum(s => s.Tokens);
        while (S.Step < spec.MaxSteps && !cancellation.IsCancellationRequested)
        {
            var step = S.Step;
            var records = await calls.AllAsync(group.Members, (m, _) => m.Grain.TrainStep(step));
            var stepTokens = records.Sum(r => r.Tokens);
            tokens += stepTokens;
            S.Steps.Add(records[0] with
            {
                Tokens = stepTokens, Seconds = records.Max(r => r.Seconds),
                AllReduceSeconds = records.Max(r => r.AllReduceSeconds), ExposedAllReduceSeconds = records.Max(r => r.ExposedAllReduceSeconds),
            });
            if (S.Steps.Count > KeptSteps) S.Steps.RemoveRange(0, S.Steps.Count - KeptSteps);
            S.Step++;
            if (spec.FineTuning is { EvalEvery: > 0 } ft && S.Step % ft.EvalEvery == 0 && S.Step < spec.MaxSteps)
                await EvaluateAsync(calls, group, ft, test: false);
            if (spec.CheckpointEvery > 0 && S.Step % spec.CheckpointEvery == 0 && S.Step < spec.MaxSteps)
                await CheckpointAsync(calls, group, tokens);
        }
        if (cancellation.IsCancellationRequested) return;
        await CheckpointAsync(calls, group, tokens);
        await calls.AllAsync(group.Members.Take(1).ToList(), (m, _) => m.Grain.SaveModel(spec.OutputDirectory));
        if (spec.FineTuning is { } final)
        {
            await EvaluateAsync(calls, group, final, test: false);
            if (final.TestFile is not null) await EvaluateAsync(calls, group, final, test: true);
            await JobEvaluation.WriteResultsAsync(spec.OutputDirectory, S.Evaluations[^1]);
        }
    }

    /// <summary>Rank 0 scores its replica (all replicas are equal); a new best by the spec's SaveBest metric is saved to
    /// OUT/best. A test evaluation's metrics join the last record.</summary>
    async Task EvaluateAsync(GroupCalls calls, WorkerGroup group, FineTuningJobSpec ft, bool test)
    {
        var metrics = (await calls.AllAsync(group.Members.Take(1).ToList(), (m, _) => m.Grain.Evaluate(test)))[0];
        if (test && S.Evaluations.Count > 0 && S.Evaluations[^1].Step == S.Step)
            S.Evaluations[^1] = S.Evaluations[^1] with { Metrics = S.Evaluations[^1].Metrics.Concat(metrics).ToDictionary() };
        else S.Evaluations.Add(new EvaluationRecord(S.Step, metrics));
        Event($"{(test ? "test" : "eval")} at step {S.Step}: {Cluster.Training.Evaluation.MetricsReport.Line(metrics)}");
        if (!test && ft.SaveBest is { } metric && JobEvaluation.Improves(metric, metrics, S.BestScore))
        {
            S.BestScore = metrics[metric];
            var best = Path.Combine(S.Spec!.OutputDirectory, "best");
            await calls.AllAsync(group.Members.Take(1).ToList(), (m, _) => m.Grain.SaveModel(best));
            Event($"best {metric} so far ({S.BestScore:G6}): model saved to {best}");
        }
        await job.WriteStateAsync();
    }

    /// <summary>Rank 0 writes the checkpoint; it becomes the job's last one only once it is complete on disk.</summary>
    async Task CheckpointAsync(GroupCalls calls, WorkerGroup group, long tokens)
    {
        var step = S.Step;
        var loss = S.Steps.LastOrDefault()?.Loss ?? double.NaN;
        S.LastCheckpoint = (await calls.AllAsync(group.Members.Take(1).ToList(), (m, _) => m.Grain.SaveCheckpoint(step, tokens, loss)))[0];
        Event($"checkpoint at step {S.Step}: {S.LastCheckpoint}");
        await TrainingMetricsFile.WriteAsync(S.Spec!.OutputDirectory, S.Steps);
        await job.WriteStateAsync();
    }

    /// <summary>The members that are left, with replacements for the lost where the registry has free devices, cut to
    /// the most that divide the planned batch; the accumulation that keeps the global batch. Leases cut are released.</summary>
    async Task<(List<GroupMember> Members, int Accumulation)> ReformAsync(IDeviceRegistryGrain registry, TrainingJobSpec spec, List<GroupMember> members, IReadOnlyList<GroupMember> lost)
    {
        // The survivors ask for their devices again: a registry whose state went with a dead silo (memory storage)
        // learns who holds them, and one that kept it answers with the same lease.
        var kept = new List<GroupMember>();
        foreach (var survivor in members.Where(m => !lost.Contains(m)))
            try { kept.Add(Member(await SiloLossRetry.CallAsync(() => registry.Acquire(new DeviceRequest(survivor.Lease.Owner, spec.DeviceKind, survivor.Lease.Silo))))); }
            catch (NoFreeDeviceException) { }
        var owners = kept.Select(m => m.Lease.Owner).ToHashSet();
        for (var slot = 0; slot < spec.Workers && kept.Count < spec.Workers; slot++)
        {
            if (owners.Contains(Owner(spec, slot))) continue;
            try { kept.Add(Member(await SiloLossRetry.CallAsync(() => registry.Acquire(new DeviceRequest(Owner(spec, slot), spec.DeviceKind))))); }
            catch (NoFreeDeviceException) { } // another slot may still hold a device of its own
        }
        var (workers, accumulation) = Cluster.Training.ElasticLayout.Reform(spec.Workers, spec.GradientAccumulation, kept.Count);
        if (workers == 0) throw new NoFreeDeviceException($"no worker is left for job {spec.JobId} and the registry has no free device");
        foreach (var extra in kept.Skip(workers))
            try { await SiloLossRetry.CallAsync(() => registry.Release(extra.Lease.Key, extra.Lease.Owner)); } catch (Exception) { }
        return (kept.Take(workers).ToList(), accumulation);
    }
}

/// <summary><c>OUT/metrics.csv</c>: one row per step, rewritten at each checkpoint and at the end.</summary>
internal static class TrainingMetricsFile
{
    /// <summary>The rows a resumed job continues (none if the file is missing or unreadable: they are a record, not state).</summary>
    public static Task<List<TrainingStepRecord>> ReadAsync(string outputDirectory) => Task.Run(() =>
    {
        var path = Path.Combine(outputDirectory, "metrics.csv");
        if (!File.Exists(path)) return new List<TrainingStepRecord>();
        var rows = new List<TrainingStepRecord>();
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            var f = line.Split(',');
            if (f.Length is not (6 or 7 or 9)) continue;   // 6, 7: written before the contrastive and the all-reduce columns
            var d = (string x) => double.Parse(x, CultureInfo.InvariantCulture);
            rows.Add(new TrainingStepRecord(long.Parse(f[0], CultureInfo.InvariantCulture), d(f[1]), d(f[2]), d(f[3]), long.Parse(f[4], CultureInfo.InvariantCulture), d(f[5]),
                f.Length >= 7 && f[6].Length > 0 ? d(f[6]) : double.NaN, f.Length == 9 ? d(f[7]) : 0, f.Length == 9 ? d(f[8]) : 0));
        }
        return rows;
    });

    public static Task WriteAsync(string outputDirectory, IReadOnlyList<TrainingStepRecord> steps)
    {
        var lines = steps.Select(s => string.Join(",", s.Step.ToString(CultureInfo.InvariantCulture), s.Loss.ToString("R", CultureInfo.InvariantCulture),
            s.LearningRate.ToString("R", CultureInfo.InvariantCulture), s.GradientNorm.ToString("R", CultureInfo.InvariantCulture),
            s.Tokens.ToString(CultureInfo.InvariantCulture), s.Seconds.ToString("F4", CultureInfo.InvariantCulture),
            double.IsNaN(s.ContrastiveLoss) ? "" : s.ContrastiveLoss.ToString("R", CultureInfo.InvariantCulture),
            s.AllReduceSeconds.ToString("F4", CultureInfo.InvariantCulture), s.ExposedAllReduceSeconds.ToString("F4", CultureInfo.InvariantCulture)))
            .Prepend("step,loss,learning_rate,grad_norm,tokens,seconds,contrastive_loss,allreduce_seconds,allreduce_exposed_seconds").ToList();
        return Task.Run(() =>
        {
            Directory.CreateDirectory(outputDirectory);
            var tmp = Path.Combine(outputDirectory, "metrics.csv.tmp");
            File.WriteAllLines(tmp, lines);
            File.Move(tmp, Path.Combine(outputDirectory, "metrics.csv"), overwrite: true);
        });
    }
}
