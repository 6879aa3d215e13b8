using Cluster.Model.Tasks;
using Cluster.Torch;
using Cluster.Training;
using Cluster.Training.Batching;
using Cluster.Training.Checkpoints;
using Cluster.Training.Data;
using Cluster.Training.Masking;
using Cluster.Training.Reduction;
using Orleans.TestingHost;
using Xunit.Abstractions;

namespace Cluster.Grains.Tests;

/// <summary>Two silos with one CPU each for the workers, and a first silo (the client's gateway) whose only device is
/// of another kind, so a job that loses a worker has no replacement and must go on with fewer.</summary>
public sealed class RecoveryFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public async Task InitializeAsync() => Cluster = await TestClusters.StartAsync(3, i => i == 0 ? ["cuda:0"] : ["cpu"]);
    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

public sealed class RecoveryTests(RecoveryFixture fixture, TestCorpus corpus, ITestOutputHelper output) : IClassFixture<RecoveryFixture>, IClassFixture<TestCorpus>
{
    const long Steps = 300;

    [Fact]
    public async Task A_workers_silo_killed_mid_job_the_job_reforms_with_the_survivor_at_twice_the_accumulation_and_finishes_from_its_last_checkpoint()
    {
        var client = fixture.Cluster.Client;
        var registry = client.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key);
        Assert.True(await Eventually.HoldsAsync(async () => (await registry.GetStatus()).Members.Sum(m => m.Devices.Count) == 3, TimeSpan.FromSeconds(60)));

        var directory = Path.Combine(corpus.Root, "recovered");
        var job = client.GetGrain<ITrainingJobGrain>("job-recovery");
        await job.Start(TestJobs.Spec(corpus, "job-recovery", directory, Steps) with { CheckpointEvery = 10, CollectiveTimeoutSeconds = 20 });
        JobStatus? status = null;
        Assert.True(await Eventually.HoldsAsync(async () => (status = await job.GetStatus()).Step >= 12 || status.Finished, TimeSpan.FromMinutes(5)), "the job did not reach step 12");
        Assert.True(status!.State == "running", JobTesting.Describe(status));

        // The worker silo the coordinator does not run on.
        var victim = fixture.Cluster.Silos.First(s =>
            status.Workers.Contains($"cpu@{s.Name}") && s.SiloAddress.ToParsableString() != status.Coordinator);
        await fixture.Cluster.KillSiloAsync(victim);

        status = await JobTesting.RunToEndAsync(job);
        output.WriteLine(JobTesting.Describe(status));
        Assert.True(status.State == "completed", JobTesting.Describe(status));
        Assert.Equal(Steps, status.Step);
        Assert.Single(status.Workers);
        Assert.Contains(status.Events, e => e.Contains($"lost cpu@{victim.Name}"));
        Assert.Contains(status.Events, e => e.Contains("re-forming with 1 worker(s) × batch 4 × 2 accumulation = global batch 8"));
        var resumedAt = status.Events.Select(e => System.Text.RegularExpressions.Regex.Match(e, @"continuing at step (\d+) from (\S+)"))
            .Single(m => m.Success);
        var (resumedStep, checkpoint) = (long.Parse(resumedAt.Groups[1].Value), resumedAt.Groups[2].Value);
        Assert.True(resumedStep >= 10 && resumedStep % 10 == 0, $"resumed at step {resumedStep}");
        Assert.Equal(resumedStep, TrainingCheckpoint.ReadState(checkpoint).Step);

        // Every step is recorded once, and the record goes on from the checkpoint.
        var progress = await job.Progress(-1);
        Assert.Equal(Enumerable.Range(0, (int)Steps).Select(i => (long)i), progress.Steps.Select(s => s.Step));
        Assert.Equal(Steps + 1, File.ReadAllLines(Path.Combine(directory, "metrics.csv")).Length);

        // The survivor trained what one worker with two micro-batches trains from that checkpoint: the same examples
        // and masks per step as the two workers had.
        var difference = DifferenceFromOneWorkerResumedAt(checkpoint, resumedStep, directory);
        Assert.True(difference < 1e-5, $"saved weights differ from a one-worker run resumed at step {resumedStep} by {difference:E2}");

        Assert.True(await Eventually.HoldsAsync(async () => (await registry.GetStatus()).Members.SelectMany(m => m.Devices).All(d => d.Owner is null), TimeSpan.FromSeconds(30)),
            "the job's devices were not released");
    }

    double DifferenceFromOneWorkerResumedAt(string checkpoint, long step, string output)
    {
        using var shards = TokenCorpus.Open(corpus.ShardDirectory);
        var examples = new PretrainingExamples(shards, 24, ExampleMode.Packed);
        var masking = new DynamicMasking(shards.Manifest.MaskTokenId, shards.Manifest.VocabSize, shards.Manifest.SpecialTokenIds.ToHashSet());
        using var scope = torch.NewDisposeScope();
        using var reference = PretrainingReplica.Create(corpus.TinyConfig(), 42, new OptimizerSettings { LearningRate = 3e-3, TotalSteps = Steps, WarmupSteps = 1 }, Device.CPU);
        TrainingCheckpoint.Load(checkpoint, reference);
        var worker = new PretrainingWorker(reference, examples, masking, new GlobalBatchPlan(examples.Count, 8, 42), 42, shards.Manifest.PadTokenId);
        using var single = new SingleReplicaReducer();
        for (; step < Steps; step++) worker.TrainStep(step, new WorkerLayout(0, 1, 2, 4), single);

        using var saved = TaskModel.FromPretrained(output, Head.MaskedLM, out _);
        var expected = reference.Model.Module.state_dict();
        double diff = 0, norm = 0;
        foreach (var (name, tensor) in saved.Module.state_dict())
        {
            var (a, e) = (tensor.ToArray<float>(), expected[name].ToArray<float>());
            for (var i = 0; i < e.Length; i++) { diff += Math.Pow(a[i] - e[i], 2); norm += e[i] * (double)e[i]; }
        }
        return Math.Sqrt(diff / norm);
    }
}
