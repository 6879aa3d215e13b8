using System.Diagnostics;
using Cluster.Grains.Hosting;
using Cluster.Grains.Placement;
using Cluster.Model.Configuration;
using Cluster.Torch;
using Cluster.Training;
using Cluster.Training.Data;
using Orleans.Runtime;

namespace Cluster.Grains.Training;

/// <summary>A replica on the device its key names. Thin: it turns messages into <see cref="PretrainingSession"/> calls,
/// which run on the session's own device thread, and awaits them.</summary>
[SiloKeyPlacement]
public sealed class WorkerGrain(ILocalSiloDetails silo, LocalSilo local) : Grain, IWorkerGrain
{
    string _device = "cpu";
    PretrainingSession? _session;

    public override Task OnActivateAsync(CancellationToken cancellation)
    {
        _device = SiloKeyCheck.EnsureHere(this.GetPrimaryKeyString(), silo.SiloAddress, local).Device
            ?? throw new DeviceUnavailableException($"worker {this.GetPrimaryKeyString()} names no device");
        return Task.CompletedTask;
    }

    public async Task<WorkerReady> Join(WorkerAssignment assignment)
    {
        await EndSessionAsync();
        var spec = assignment.Spec;
        var threads = spec.ThreadsPerWorker > 0 ? spec.ThreadsPerWorker : Math.Max(1, Environment.ProcessorCount / Math.Max(1, local.Devices.Count));
        _session = await PretrainingSession.StartAsync(new SessionOptions
        {
            Job = spec.JobId,
            Config = PretrainedConfig.FromJson(spec.ConfigJson, $"job {spec.JobId} config"),
            TokenizerDirectory = spec.TokenizerDirectory,
            DataDirectory = spec.DataDirectory,
            OutputDirectory = spec.OutputDirectory,
            MaxLength = spec.MaxLength,
            Mode = spec.ExampleMode == "line" ? ExampleMode.Line : ExampleMode.Packed,
            Optimizer = JobSettings.Optimizer(spec),
            Seed = spec.Seed,
            Layout = new WorkerLayout(assignment.Rank, assignment.Workers, assignment.Accumulation, spec.BatchSize),
            StoreHost = assignment.StoreHost,
            StorePort = assignment.StorePort,
            BindHost = silo.SiloAddress.Endpoint.Address.ToString(),
            Device = _device == "cpu" ? Device.CPU : Device.Parse(_device),
            Checkpoint = assignment.Checkpoint,
            Threads = threads,
            Objective = spec.Objective == "contrastive" ? PretrainingObjective.RoCBertContrastive : PretrainingObjective.MaskedLM,
            CollectiveTimeout = TimeSpan.FromSeconds(spec.CollectiveTimeoutSeconds),
            BucketMegabytes = spec.BucketMegabytes,
            Reducer = spec.AllReduce == "coordinator"
                ? () => CoordinatorReducer.Connect(assignment.StoreHost, assignment.StorePort, assignment.Rank, assignment.Workers,
                    local.BulkSecurity ?? throw new InvalidOperationException("the coordinator all-reduce needs the silo's data-plane security (no bulk channel is configured)"),
                    TimeSpan.FromSeconds(spec.CollectiveTimeoutSeconds))
                : null,
        });
        return new WorkerReady(_session.Step, _session.WeightChecksum);
    }

    public async Task<TrainingStepRecord> TrainStep(long step)
    {
        var session = _session ?? throw new InvalidOperationException("the worker has not joined a job");
        var watch = Stopwatch.StartNew();
        var (result, tokens) = await session.TrainStepAsync(step);
        return new TrainingStepRecord(step, result.Loss, result.LearningRate, result.GradientNorm, tokens, watch.Elapsed.TotalSeconds, result.ContrastiveLoss,
            result.Reduction.Seconds, result.Reduction.ExposedSeconds);
    }

    public Task<string> SaveCheckpoint(long step, long tokens, double loss)
    {
        var session = _session ?? throw new InvalidOperationException("the worker has not joined a job");
        if (session.Step != step) throw new InvalidOperationException($"the replica is at step {session.Step}, not {step}");
        return session.SaveCheckpointAsync(tokens, loss);
    }

    public Task SaveModel(string directory)
        => (_session ?? throw new InvalidOperationException("the worker has not joined a job")).SaveModelAsync(directory);

    public async Task Leave()
    {
        await EndSessionAsync();
        DeactivateOnIdle();
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellation) => EndSessionAsync();

    async Task EndSessionAsync()
    {
        if (_session is null) return;
        var session = _session;
        _session = null;
        await session.DisposeAsync();
    }
}
