using System.Globalization;
using Cluster.Grains.Hosting;
using Cluster.Torch.Distributed;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Cluster.Grains.Training;

/// <summary>The coordinator of one job: leases devices from the registry, hosts the c10d rendezvous, makes every
/// replica start from rank 0's weights (checked by checksum), sequences the steps, saves checkpoints and the model.
/// It owns nothing numeric: the workers do the tensor work on their devices' threads.</summary>
public sealed class TrainingJobGrain(
    [PersistentState("training-job", ClusterSiloBuilderExtensions.StorageName)] IPersistentState<TrainingJobState> job,
    ILocalSiloDetails silo,
    ILogger<TrainingJobGrain> log) : Grain, ITrainingJobGrain
{
    /// <summary>Steps kept for followers; older ones are in metrics.csv.</summary>
    const int KeptSteps = 10_000;
    CancellationTokenSource? _cancel;
    Task? _run;

    TrainingJobState S => job.State;

    public async Task<JobStatus> Start(PretrainingJobSpec spec)
    {
        if (S.Spec is not null && S.State is not ("completed" or "failed" or "cancelled"))
            throw new InvalidOperationException($"job {spec.JobId} is already {S.State}");
        if (spec.JobId != this.GetPrimaryKeyString()) throw new ArgumentException($"the spec's job id {spec.JobId} is not this job's ({this.GetPrimaryKeyString()})");
        if (spec.AllReduce != "collective") throw new ArgumentException($"unknown all-reduce backend '{spec.AllReduce}' (this version has: collective)");
        job.State = new TrainingJobState { Spec = spec, State = "starting" };
        Event($"job {spec.JobId}: {spec.Workers} worker(s) × batch {spec.BatchSize} × {spec.GradientAccumulation} accumulation = global batch {spec.GlobalBatch}, {spec.MaxSteps} steps");
        await job.WriteStateAsync();
        _cancel = new CancellationTokenSource();
        DelayDeactivation(TimeSpan.FromDays(30)); // the run loop is not a request: keep the activation while it runs
        _run = RunAsync(spec, _cancel.Token);
        return Status();
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

    JobStatus Status() => new(this.GetPrimaryKeyString(), S.State, S.Step, S.Spec?.MaxSteps ?? 0, S.Workers.ToList(), S.LastCheckpoint, S.Error, S.Events.ToList());

    void Event(string line)
    {
        S.Events.Add($"{DateTime.UtcNow:HH:mm:ss} {line}");
        log.LogInformation("{Line}", line);
    }

    async Task RunAsync(PretrainingJobSpec spec, CancellationToken cancellation)
    {
        var registry = GrainFactory.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key);
        var leases = new List<DeviceLease>();
        var workers = new List<IWorkerGrain>();
        TCPStore? store = null;
        // The final state is set only after the devices are released, so a follower that sees the job finished finds them free.
        string outcome;
        try
        {
            for (var i = 0; i < spec.Workers; i++) leases.Add(await registry.Acquire(new DeviceRequest($"{spec.JobId}/{i}", spec.DeviceKind)));
            workers.AddRange(leases.Select(l => GrainFactory.GetGrain<IWorkerGrain>(l.Key)));
            S.Workers = leases.Select(l => $"{l.Device}@{l.SiloName}").ToList();

            var host = silo.SiloAddress.Endpoint.Address.ToString();
            store = await Task.Run(() => new TCPStore(host, 0, isServer: true, timeout: TimeSpan.FromMinutes(2)), cancellation);
            var checkpoint = spec.Resume ? Cluster.Training.Checkpoints.TrainingCheckpoint.Latest(Path.Combine(spec.OutputDirectory, "checkpoints")) : null;
            var ready = await Task.WhenAll(workers.Select((w, rank) =>
                w.Join(new WorkerAssignment(spec, rank, spec.Workers, spec.GradientAccumulation, host, store.Port, checkpoint))));
            if (ready.Select(r => r.WeightChecksum).Distinct().Count() != 1)
                throw new InvalidOperationException($"replicas differ after the broadcast (checksums {string.Join(", ", ready.Select(r => r.WeightChecksum.ToString("x16", CultureInfo.InvariantCulture)))})");
            S.Step = ready[0].Step;
            S.LastCheckpoint = checkpoint;
            if (checkpoint is not null) S.Steps = (await TrainingMetricsFile.ReadAsync(spec.OutputDirectory)).Where(s => s.Step < S.Step).ToList();
            S.State = "running";
            Event(checkpoint is null
                ? $"replicas on {string.Join(", ", S.Workers)} start from identical weights (checksum {ready[0].WeightChecksum:x16})"
                : $"resumed at step {S.Step} from {checkpoint} on {string.Join(", ", S.Workers)}");
            await job.WriteStateAsync();

            long tokens = S.Steps.Sum(s => s.Tokens);
            while (S.Step < spec.MaxSteps && !cancellation.IsCancellationRequested)
            {
                var records = await Task.WhenAll(workers.Select(w => w.TrainStep(S.Step)));
                var stepTokens = records.Sum(r => r.Tokens);
                tokens += stepTokens;
                S.Steps.Add(records[0] with { Tokens = stepTokens, Seconds = records.Max(r => r.Seconds) });
                if (S.Steps.Count > KeptSteps) S.Steps.RemoveRange(0, S.Steps.Count - KeptSteps);
                S.Step++;
                if (spec.CheckpointEvery > 0 && S.Step % spec.CheckpointEvery == 0 && S.Step < spec.MaxSteps)
                    await CheckpointAsync(workers[0], tokens);
            }
            if (cancellation.IsCancellationRequested)
            {
                outcome = "cancelled";
                Event($"cancelled at step {S.Step}");
            }
            else
            {
                await CheckpointAsync(workers[0], tokens);
                await workers[0].SaveModel(spec.OutputDirectory);
                outcome = "completed";
                Event($"completed {S.Step} steps; model saved to {spec.OutputDirectory}");
            }
        }
        catch (Exception e)
        {
            outcome = "failed";
            S.Error = e.Message.Split('\n')[0];
            Event($"failed at step {S.Step}: {S.Error}");
        }
        finally
        {
            await Task.WhenAll(workers.Select(async w => { try { await w.Leave(); } catch (Exception) { } })); // a dead worker's silo took it already
            foreach (var lease in leases)
                try { await registry.Release(lease.Key, lease.Owner); } catch (Exception) { }
            store?.Dispose();
            if (S.Steps.Count > 0) await TrainingMetricsFile.WriteAsync(spec.OutputDirectory, S.Steps);
        }
        S.State = outcome;
        await job.WriteStateAsync();
        DelayDeactivation(TimeSpan.FromMinutes(30)); // followers may still ask how it ended
    }

    async Task CheckpointAsync(IWorkerGrain rank0, long tokens)
    {
        S.LastCheckpoint = await rank0.SaveCheckpoint(S.Step, tokens, S.Steps.LastOrDefault()?.Loss ?? double.NaN);
        Event($"checkpoint at step {S.Step}: {S.LastCheckpoint}");
        await TrainingMetricsFile.WriteAsync(S.Spec!.OutputDirectory, S.Steps);
        await job.WriteStateAsync();
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
            if (f.Length != 6) continue;
            var d = (string x) => double.Parse(x, CultureInfo.InvariantCulture);
            rows.Add(new TrainingStepRecord(long.Parse(f[0], CultureInfo.InvariantCulture), d(f[1]), d(f[2]), d(f[3]), long.Parse(f[4], CultureInfo.InvariantCulture), d(f[5])));
        }
        return rows;
    });

    public static Task WriteAsync(string outputDirectory, IReadOnlyList<TrainingStepRecord> steps)
    {
        var lines = steps.Select(s => string.Join(",", s.Step.ToString(CultureInfo.InvariantCulture), s.Loss.ToString("R", CultureInfo.InvariantCulture),
            s.LearningRate.ToString("R", CultureInfo.InvariantCulture), s.GradientNorm.ToString("R", CultureInfo.InvariantCulture),
            s.Tokens.ToString(CultureInfo.InvariantCulture), s.Seconds.ToString("F4", CultureInfo.InvariantCulture))).Prepend("step,loss,learning_rate,grad_norm,tokens,seconds").ToList();
        return Task.Run(() =>
        {
            Directory.CreateDirectory(outputDirectory);
            var tmp = Path.Combine(outputDirectory, "metrics.csv.tmp");
            File.WriteAllLines(tmp, lines);
            File.Move(tmp, Path.Combine(outputDirectory, "metrics.csv"), overwrite: true);
        });
    }
}
