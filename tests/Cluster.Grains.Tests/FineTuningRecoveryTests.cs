using Cluster.Model.Tasks;
using Cluster.Testing;
using Cluster.Torch;
using Xunit.Abstractions;

namespace Cluster.Grains.Tests;

/// <summary>A fine-tuning job is as elastic as a pretraining one: it runs through the same coordinator and workers, so
/// losing a worker's silo re-forms the group from the last checkpoint at twice the accumulation, and the job still
/// finishes, evaluates and saves.</summary>
public sealed class FineTuningRecoveryTests(RecoveryFixture fixture, TestCorpus corpus, ITestOutputHelper output)
    : IClassFixture<RecoveryFixture>, IClassFixture<TestCorpus>
{
    const long Steps = 300;

    [Fact]
    public async Task A_workers_silo_killed_mid_fine_tuning_the_job_reforms_and_finishes_with_its_evaluation()
    {
        var root = Path.Combine(corpus.Root, $"finetune-recovery-{Guid.NewGuid():N}");
        var tasks = new FineTuningTasks(Path.Combine(root, "data"));
        var model = FreshModel.Save(corpus.TinyConfig(), corpus.TokenizerDirectory, Path.Combine(root, "pretrained"), 11);

        var client = fixture.Cluster.Client;
        var registry = client.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key);
        Assert.True(await Eventually.HoldsAsync(async () => (await registry.GetStatus()).Members.Sum(m => m.Devices.Count) == 3, TimeSpan.FromSeconds(60)));
        var directory = Path.Combine(root, "out");
        var job = client.GetGrain<ITrainingJobGrain>("finetune-recovery");
        await job.Start(TestJobs.Spec(corpus, "finetune-recovery", directory, Steps) with
        {
            ConfigJson = File.ReadAllText(Path.Combine(model, "config.json")), TokenizerDirectory = model, DataDirectory = model,
            MaxLength = 48, CheckpointEvery = 10, CollectiveTimeoutSeconds = 20, LearningRate = 1e-3, Beta2 = 0.999, Epsilon = 1e-8,
            FineTuning = new FineTuningJobSpec
            {
                Task = "sequence-classification", ModelDirectory = model,
                TrainFile = tasks.Path(Head.SequenceClassification, "train"), EvalFile = tasks.Path(Head.SequenceClassification, "eval"), EvalEvery = 100,
            },
        });
        JobStatus? status = null;
        Assert.True(await Eventually.HoldsAsync(async () => (status = await job.GetStatus()).Step >= 12 || status.Finished, TimeSpan.FromMinutes(5)), "the job did not reach step 12");
        Assert.True(status!.State == "running", JobTesting.Describe(status));
        var victim = fixture.Cluster.Silos.First(s => status.Workers.Contains($"cpu@{s.Name}") && s.SiloAddress.ToParsableString() != status.Coordinator);
        await fixture.Cluster.KillSiloAsync(victim);

        status = await JobTesting.RunToEndAsync(job);
        output.WriteLine(JobTesting.Describe(status));
        Assert.True(status.State == "completed", JobTesting.Describe(status));
        Assert.Equal(Steps, status.Step);
        Assert.Contains(status.Events, e => e.Contains($"lost cpu@{victim.Name}"));
        Assert.Contains(status.Events, e => e.Contains("re-forming with 1 worker(s) × batch 4 × 2 accumulation = global batch 8"));
        // Evaluations at 100, 200 and the end; one more may precede the loss if it came late; none is recorded twice.
        var evaluations = status.Evaluations!;
        Assert.Equal(evaluations.Select(e => e.Step).Distinct(), evaluations.Select(e => e.Step));
        Assert.Equal(Steps, evaluations[^1].Step);
        var accuracy = evaluations[^1].Metrics["eval_accuracy"];
        Assert.True(accuracy > tasks.MajorityAccuracy() + 0.3, $"accuracy {accuracy}, majority {tasks.MajorityAccuracy()}");
        Assert.True(File.Exists(Path.Combine(directory, "eval_results.json")));
        using var saved = TaskModel.FromPretrained(directory, Head.SequenceClassification, out var loaded);
        Assert.Empty(loaded.missing_keys);
    }
}
