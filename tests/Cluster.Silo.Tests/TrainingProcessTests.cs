using System.Diagnostics;
using Cluster.Client.Connection;
using Cluster.Grains;
using Xunit.Abstractions;

namespace Cluster.Silo.Tests;

/// <summary>A pretraining job on two Cluster.Silo processes (one CPU worker each) against real PostgreSQL, and a
/// SIGKILL of one of them mid-job: the worker's silo (the coordinator re-forms the group with the survivor), or the
/// coordinator's own (the job's reminder wakes it on the survivor, which takes over from the last checkpoint).</summary>
public sealed class TrainingProcessTests(ITestOutputHelper output, TestCorpus corpus) : IAsyncLifetime, IClassFixture<TestCorpus>
{
    const long Steps = 400;
    readonly TestDatabase _database = new();
    public Task InitializeAsync() => _database.InitializeAsync();
    public Task DisposeAsync() => _database.DisposeAsync();

    string Membership => $"postgres:{_database.ConnectionString}";

    SiloProcess StartSilo(string name) => SiloProcess.Start(SiloPorts.Allocate(),
        ["--membership", Membership, "--cluster-id", "train", "--name", name, "--devices", "cpu", "--job-watch-period", "3"]);

    TrainingJobSpec Spec(string id, string directory) => new()
    {
        JobId = id, ConfigJson = corpus.TinyConfig().ToJson(), TokenizerDirectory = corpus.TokenizerDirectory,
        DataDirectory = corpus.ShardDirectory, OutputDirectory = directory,
        Workers = 2, BatchSize = 4, MaxLength = 24, MaxSteps = Steps, LearningRate = 3e-3, WarmupSteps = 1,
        CheckpointEvery = 20, ThreadsPerWorker = 1, DeviceKind = "cpu", CollectiveTimeoutSeconds = 30,
    };

    /// <summary>Two silos up, a job started on them and past its first checkpoint; the silo processes by address.</summary>
    async Task<(ClusterConnection Connection, ITrainingJobGrain Job, JobStatus Status, Dictionary<string, SiloProcess> Silos)> StartJobAsync(
        SiloProcess a, SiloProcess b, string id, string directory)
    {
        var silos = new Dictionary<string, SiloProcess> { [await a.AddressAsync()] = a, [await b.AddressAsync()] = b };
        var connection = await ClusterConnection.ConnectAsync(new ClusterConnectionSettings(Membership, "train"));
        var registry = connection.Client.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key);
        Assert.True(await Eventually.HoldsAsync(async () => (await registry.GetStatus()).Members.Sum(m => m.Devices.Count) == 2, TimeSpan.FromMinutes(1)),
            "the registry never saw both silos' devices");
        var job = connection.Client.GetGrain<ITrainingJobGrain>(id);
        await job.Start(Spec(id, directory));
        JobStatus? status = null;
        Assert.True(await Eventually.HoldsAsync(async () => (status = await job.GetStatus()).Step >= 25 || status.Finished, TimeSpan.FromMinutes(5)),
            "the job did not reach step 25");
        Assert.True(status!.State == "running", Describe(status));
        Assert.Equal(2, status.Workers.Count);
        return (connection, job, status, silos);
    }

    static string Describe(JobStatus status) => $"{status.State}: {status.Error}\n{string.Join("\n", status.Events)}";

    [PostgresFact]
    public async Task A_worker_silo_killed_mid_job_the_job_finishes_on_the_survivor_from_its_last_checkpoint()
    {
        await using var a = StartSilo("a");
        await using var b = StartSilo("b");
        var directory = Path.Combine(corpus.Root, "worker-killed");
        var (connection, job, status, silos) = await StartJobAsync(a, b, "worker-killed", directory);
        await using var _ = connection;

        var victim = silos.Single(s => s.Key != status.Coordinator);
        var watch = Stopwatch.StartNew();
        victim.Value.Signal("KILL");
        Assert.True(await Eventually.HoldsAsync(async () => (status = await job.GetStatus()).Events.Any(e => e.Contains("re-forming")) || status.Finished,
            TimeSpan.FromMinutes(3)), "the job did not re-form");
        output.WriteLine($"SIGKILL of a worker's silo → the job re-forming: {watch.Elapsed.TotalSeconds:F2} s");
        Assert.True(await Eventually.HoldsAsync(async () => (status = await job.GetStatus()).Finished, TimeSpan.FromMinutes(8)), "the job did not finish");
        output.WriteLine(Describe(status!));

        Assert.True(status!.State == "completed", Describe(status));
        Assert.Equal(Steps, status.Step);
        Assert.Single(status.Workers);
        Assert.Contains(status.Events, e => e.Contains("re-forming with 1 worker(s) × batch 4 × 2 accumulation = global batch 8"));
        Assert.Contains(status.Events, e => e.Contains("continuing at step") && e.Contains("checkpoints/step-"));
        Assert.True(File.Exists(Path.Combine(directory, "model.safetensors")));
        Assert.Equal(Steps + 1, File.ReadAllLines(Path.Combine(directory, "metrics.csv")).Length);

        var cli = await ClusterCli.RunAsync("jobs", "list", "--cluster", Membership, "--cluster-id", "train");
        Assert.True(cli.ExitCode == 0, cli.Stderr + cli.Stdout);
        Assert.Matches($@"worker-killed: completed, step {Steps}/{Steps}, workers cpu@\w+, coordinator ", cli.Stdout);
    }

    [PostgresFact]
    public async Task The_coordinators_silo_killed_mid_job_the_job_resumes_on_the_other_silo_without_being_asked()
    {
        await using var a = StartSilo("a");
        await using var b = StartSilo("b");
        var directory = Path.Combine(corpus.Root, "coordinator-killed");
        var (connection, job, status, silos) = await StartJobAsync(a, b, "coordinator-killed", directory);
        await using var _ = connection;

        var victim = silos[status.Coordinator!];
        var survivor = silos.Keys.Single(k => k != status.Coordinator);
        var watch = Stopwatch.StartNew();
        victim.Signal("KILL");
        // Nobody calls the job: only its reminder can wake it. Its end shows on disk.
        var model = Path.Combine(directory, "model.safetensors");
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(File.Exists(model)), TimeSpan.FromMinutes(8)),
            $"the job never finished on the survivor\n{a.Stdout}\n{b.Stdout}");
        output.WriteLine($"SIGKILL of the coordinator's silo → the job finished on the survivor: {watch.Elapsed.TotalSeconds:F2} s");

        Assert.True(await Eventually.HoldsAsync(async () => (status = await job.GetStatus()).Finished, TimeSpan.FromMinutes(2)));
        output.WriteLine(Describe(status!));
        Assert.True(status!.State == "completed", Describe(status));
        Assert.Equal(survivor, status.Coordinator);
        Assert.Equal(Steps, status.Step);
        Assert.Single(status.Workers);
        Assert.Contains(status.Events, e => e.Contains($"coordinator taking over on silo {survivor}"));
        Assert.Contains(status.Events, e => e.Contains("re-forming with 1 worker(s) × batch 4 × 2 accumulation = global batch 8"));
    }
}
