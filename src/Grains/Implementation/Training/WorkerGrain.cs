using System.Diagnostics;
using Cluster.Grains.Hosting;
using Cluster.Grains.Placement;
using Cluster.Model.Configuration;
using Cluster.Torch;
using Cluster.Training;
using Cluster.Training.Data;
using Cluster.Training.FineTuning;
using Cluster.Model.Tasks;
using Orleans.Runtime;

namespace Cluster.Grains.Training;

/// <summary>A replica on the device its key names. Thin: it turns messages into calls of its session
/// (<see cref="PretrainingSession"/> or <see cref="FineTuningSession"/>),
/// which run on the session's own device thread, and awaits them.</summary>
[SiloKeyPlacement]
public sealed class WorkerGrain(ILocalSiloDetails silo, LocalSilo local) : Grain, IWorkerGrain
{
    string _device = "cpu";
    ITrainingSession? _session;

    public override Task OnActivateAsync(CancellationToken cancellation)
    {
        _device = SiloKeyCheck.DeviceHere(this.GetPrimaryKeyString(), silo.SiloAddress, local, "worker");
        return Task.CompletedTask;
    }

    public async Task<WorkerReady> Join(WorkerAssignment assignment)
    {
        await EndSessionAsync();
        var spec = assignment.Spec;
        var threads = spec.ThreadsPerWorker > 0 ? spec.ThreadsPerWorker : Math.Max(1, Environment.ProcessorCount / Math.Max(1, local.Devices.Count));
        GroupOptions options = spec.FineTuning is { } ft
            ? new FineTuningSessionOptions
            {
                Task = Heads.Parse(ft.Task), ModelDirectory = ft.ModelDirectory, TrainFile = ft.TrainFile, EvalFile = ft.EvalFile, TestFile = ft.TestFile,
                TaskOptions = JobSettings.Task(spec, ft), FreezeEncoder = ft.FreezeEncoder, EvalBatchSize = ft.EvalBatchSize,
                IgnoreMismatchedSizes = ft.IgnoreMismatchedSizes,
            }
            : new SessionOptions
            {
                Config = PretrainedConfig.FromJson(spec.ConfigJson, $"job {spec.JobId} config"),
                TokenizerDirectory = spec.TokenizerDirectory,
                DataDirectory = spec.DataDirectory,
                MaxLength = spec.MaxLength,
                Mode = spec.ExampleMode == "line" ? ExampleMode.Line : ExampleMode.Packed,
                Objective = spec.Objective == "contrastive" ? PretrainingObjective.RoCBertContrastive : PretrainingObjective.MaskedLM,
            };
        // The group's part is the same for both kinds (the clone keeps the kind).
        options = options with
        {
            Job = spec.JobId,
            OutputDirectory = spec.OutputDirectory,
            Optimizer = JobSettings.Optimizer(spec),
            Seed = spec.Seed,
            Layout = new WorkerLayout(assignment.Rank, assignment.Workers, assignment.Accumulation, spec.BatchSize),
            StoreHost = assignment.StoreHost,
            StorePort = assignment.StorePort,
            BindHost = silo.SiloAddress.Endpoint.Address.ToString(),
            Device = _device == "cpu" ? Device.CPU : Device.Parse(_device),
            Checkpoint = assignment.Checkpoint,
            Threads = threads,
            CollectiveTimeout = TimeSpan.FromSeconds(spec.CollectiveTimeoutSeconds),
            BucketMegabytes = spec.BucketMegabytes,
            Reducer = spec.AllReduce == "coordinator"
                ? () => CoordinatorReducer.Connect(assignment.StoreHost, assignment.StorePort, assignment.Rank, assignment.Workers,
                    local.BulkSecurity ?? throw new InvalidOperationException("the coordinator all-reduce needs the silo's data-plane security (no bulk channel is configured)"),
                    TimeSpan.FromSeconds(spec.CollectiveTimeoutSeconds))
                : null,
        };
        _session = options switch
        {
            FineTuningSessionOptions f => await FineTuningSession.StartAsync(f),
            SessionOptions p => await PretrainingSession.StartAsync(p),
            _ => throw new InvalidOperationException($"no session for {options.GetType().Name}"),
        };
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

    public Task<Dictionary<string, double>> Evaluate(bool test) => _session switch
    {
        FineTuningSession session => session.EvaluateAsync(test),
        null => throw new InvalidOperationException("the worker has not joined a job"),
        _ => throw new InvalidOperationException("a pretraining job has no evaluation set"),
    };

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
