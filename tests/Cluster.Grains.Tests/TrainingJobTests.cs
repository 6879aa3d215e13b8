using Cluster.Testing;
using Cluster.Model.Tasks;
using Cluster.Torch;
using Cluster.Training;
using Cluster.Training.Batching;
using Cluster.Training.Data;
using Cluster.Training.Masking;
using Cluster.Training.Reduction;

namespace Cluster.Grains.Tests;

/// <summary>A pretraining job on the in-process cluster: the coordinator grain leases two CPU workers on two silos,
/// they train over c10d Gloo, and the saved model is the one a single worker with the whole batch trains.</summary>
[Collection("cluster")]
public sealed class TrainingJobTests(ClusterFixture fixture, TestCorpus corpus) : IClassFixture<TestCorpus>
{
    readonly TestCorpus _corpus = corpus;

    TrainingJobSpec Spec(string id, string output, long steps = 4) => TestJobs.Spec(_corpus, id, output, steps);

    /// <summary>Both all-reduce backends: c10d Gloo, and the coordinator's reduction server over the data plane.</summary>
    [Theory]
    [InlineData("collective")]
    [InlineData("coordinator")]
    public async Task Two_workers_on_two_silos_train_the_model_one_worker_with_the_whole_batch_would_and_save_it(string backend)
    {
        var id = $"job-equivalence-{backend}";
        var output = Path.Combine(_corpus.Root, id);
        var job = fixture.Client.GetGrain<ITrainingJobGrain>(id);
        var liveBefore = LiveTensors.Settled();   // both silos' workers run in this process
        var started = await job.Start(Spec(id, output) with { AllReduce = backend });
        Assert.Equal("starting", started.State);
        var status = await JobTesting.RunToEndAsync(job);
        Assert.True(status.State == "completed", JobTesting.Describe(status));
        Assert.Equal(4, status.Step);
        Assert.Equal(2, status.Workers.Select(w => w.Split('@')[1]).Distinct().Count()); // two silos
        Assert.Contains(status.Events, e => e.Contains("start from identical weights"));
        // Every worker's replica, optimizer state and gradient buffers are freed once the group disbands.
        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(LiveTensors.Settled() == liveBefore), TimeSpan.FromMinutes(2)),
            $"{LiveTensors.Settled() - liveBefore} native tensors still alive after the job");

        var progress = await job.Progress(-1);
        Assert.Equal([0L, 1, 2, 3], progress.Steps.Select(s => s.Step));
        Assert.Equal(5, File.ReadAllLines(Path.Combine(output, "metrics.csv")).Length);
        Assert.True(File.Exists(Path.Combine(output, "checkpoints", "step-00000002", "trainer_state.json")));
        Assert.True(File.Exists(Path.Combine(output, "checkpoints", "step-00000004", "trainer_state.json")));
        Assert.True(File.Exists(Path.Combine(output, "vocab.json")));

        var (losses, difference) = CompareWithOneWorker(output);
        for (var step = 0; step < 4; step++) Assert.Equal(losses[step], progress.Steps[step].Loss, 4);
        Assert.True(difference < 1e-5, $"saved weights differ from the single-worker run by {difference:E2}");

        Assert.Contains(id, await fixture.Client.GetGrain<IJobIndexGrain>(JobIndex.Key).List());

        // Its devices went back to the registry.
        var registry = fixture.Client.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key);
        Assert.All((await registry.GetStatus()).Members.SelectMany(m => m.Devices), d => Assert.Null(d.Owner));
    }

    /// <summary>The same steps on one replica with the whole global batch, on this thread: its losses, and the relative
    /// L2 difference between its weights and the job's saved model (loaded back with TaskModel.FromPretrained).</summary>
    (double[] Losses, double Difference) CompareWithOneWorker(string output)
    {
        using var shards = TokenCorpus.Open(_corpus.ShardDirectory);
        var examples = new PretrainingExamples(shards, 24, ExampleMode.Packed);
        var masking = new DynamicMasking(shards.Manifest.MaskTokenId, shards.Manifest.VocabSize, shards.Manifest.SpecialTokenIds.ToHashSet());
        using var scope = torch.NewDisposeScope();
        using var reference = PretrainingReplica.Create(_corpus.TinyConfig(), 42, new OptimizerSettings { LearningRate = 3e-3, TotalSteps = 4, WarmupSteps = 1 }, Device.CPU);
        var worker = new PretrainingWorker(reference, examples, masking, new GlobalBatchPlan(examples.Count, 8, 42), 42, shards.Manifest.PadTokenId);
        using var single = new SingleReplicaReducer();
        var losses = Enumerable.Range(0, 4).Select(step => worker.TrainStep(step, new WorkerLayout(0, 1, 1, 8), single).Loss).ToArray();

        using var saved = TaskModel.FromPretrained(output, Head.MaskedLM, out var loaded);
        Assert.Empty(loaded.missing_keys);
        var expected = reference.Model.Module.state_dict();
        double diff = 0, norm = 0;
        foreach (var (name, tensor) in saved.Module.state_dict())
        {
            var (a, e) = (tensor.ToArray<float>(), expected[name].ToArray<float>());
            for (var i = 0; i < e.Length; i++) { diff += Math.Pow(a[i] - e[i], 2); norm += e[i] * (double)e[i]; }
        }
        return (losses, Math.Sqrt(diff / norm));
    }

    [Fact]
    public async Task More_workers_than_free_devices_fail_the_job_with_the_reason_and_hold_nothing()
    {
        var job = fixture.Client.GetGrain<ITrainingJobGrain>("job-too-big");
        await job.Start(Spec("job-too-big", Path.Combine(_corpus.Root, "too-big")) with { Workers = 4 });
        var status = await JobTesting.RunToEndAsync(job);
        Assert.Equal("failed", status.State);
        Assert.Contains("no free", status.Error);
        var registry = fixture.Client.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key);
        Assert.All((await registry.GetStatus()).Members.SelectMany(m => m.Devices), d => Assert.Null(d.Owner));
    }
}
