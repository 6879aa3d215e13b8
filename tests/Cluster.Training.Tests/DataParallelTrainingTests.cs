using Cluster.Testing;
using Cluster.Torch;
using Cluster.Torch.Distributed;
using Cluster.Training.Batching;
using Cluster.Training.Checkpoints;
using Cluster.Training.Data;
using Cluster.Training.Masking;
using Cluster.Training.Reduction;

namespace Cluster.Training.Tests;

/// <summary>Data parallelism changes who computes, never what is computed: N workers × batch B (all-reduced over c10d
/// Gloo, each worker on its own thread) and K accumulated micro-batches × B give the weights of one worker on N·B or
/// K·B; a job resumed from a checkpoint gives the weights and optimizer state of one that never stopped.</summary>
[Collection("corpus")]
public sealed class DataParallelTrainingTests(TestCorpus corpus, Xunit.Abstractions.ITestOutputHelper output)
{
    const int MaxLength = 24;
    const ulong Seed = 42;
    static readonly TimeSpan Guard = TimeSpan.FromMinutes(5);

    OptimizerSettings Settings(long steps) => new() { LearningRate = 3e-3, TotalSteps = steps, WarmupSteps = 1 };

    sealed record Run(Dictionary<string, float[]> Weights, Dictionary<string, float[]> OptimizerState, StepResult[] Steps);

    /// <summary>Trains <paramref name="steps"/> steps from a fresh model with each rank on its own thread; returns rank 0's
    /// weights and optimizer state. With <paramref name="checkpoints"/>, rank 0 saves after <paramref name="saveAfter"/>
    /// steps; with <paramref name="resumeFrom"/>, every rank loads that checkpoint first;
    /// <paramref name="bucketMegabytes"/> above 0 reduces in buckets of that size during the last backward.</summary>
    Task<Run> TrainAsync(int workers, int accumulation, int batch, long steps, long totalSteps,
        string? checkpoints = null, long saveAfter = -1, string? resumeFrom = null, double bucketMegabytes = 0)
    {
        return Task.Run(async () =>
        {
            using var shards = TokenCorpus.Open(corpus.ShardDirectory);
            var examples = new PretrainingExamples(shards, MaxLength, ExampleMode.Packed);
            var masking = new DynamicMasking(shards.Manifest.MaskTokenId, shards.Manifest.VocabSize, shards.Manifest.SpecialTokenIds.ToHashSet());
            var layoutOf = (int rank) => new WorkerLayout(rank, workers, accumulation, batch);
            using var server = workers > 1 ? new TCPStore("127.0.0.1", 0, isServer: true, timeout: Guard) : null;
            var ranks = Enumerable.Range(0, workers).Select(rank => Task.Factory.StartNew(() =>
            {
                using var scope = torch.NewDisposeScope();
                using var group = new RankReducer(server, rank, workers, Guard);
                var reducer = group.Reducer;
                using var replica = PretrainingReplica.Create(corpus.TinyConfig(), Seed, Settings(totalSteps), Device.CPU);
                var plan = new GlobalBatchPlan(examples.Count, layoutOf(rank).GlobalBatch, Seed);
                var worker = new PretrainingWorker(replica, examples, masking, plan, Seed, shards.Manifest.PadTokenId);
                var first = 0L;
                if (resumeFrom is not null) first = TrainingCheckpoint.Load(resumeFrom, replica).Step;
                worker.SynchronizeWeights(reducer);
                using var buckets = bucketMegabytes > 0
                    ? new BucketedReduction(replica.Parameters.Select(p => (Tensor)p.Parameter).ToArray(), replica.GradientElements, reducer, bucketMegabytes, Device.CPU)
                    : null;
                if (rank == 0 && buckets is not null) output.WriteLine($"{buckets.Buckets} buckets: {string.Join(", ", buckets.BucketSizes)} elements");
                var results = new List<StepResult>();
                for (var step = first; step < first + steps; step++)
                {
                    results.Add(worker.TrainStep(step, layoutOf(rank), reducer, buckets));
                    if (rank == 0 && checkpoints is not null && step + 1 == saveAfter)
                        TrainingCheckpoint.Save(checkpoints, replica, new TrainerState { Step = step + 1, Tokens = 0, Loss = results[^1].Loss, Job = "test" });
                }
                var weights = replica.Model.Module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32).ToArray<float>());
                var optimizer = replica.Optimizer.state_dict(replica.Parameters.Select(p => (p.Name, p.Parameter)))
                    .ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32).ToArray<float>());
                return new Run(weights, optimizer, results.ToArray());
            }, TaskCreationOptions.LongRunning)).ToArray();
            return (await Task.WhenAll(ranks).WaitAsync(Guard))[0];
        });
    }

    /// <summary>How far apart two runs' tensors are: the relative L2 difference over all of them together, and the
    /// largest difference of one element. (Per tensor, relative differences mislead where a gradient is exactly zero in
    /// exact arithmetic, as for attention's key bias: Adam turns its rounding noise into tiny, batch-split-dependent
    /// updates of a tensor that starts at zero.)</summary>
    internal static (double Relative, double MaxAbsolute) Difference(Dictionary<string, float[]> actual, Dictionary<string, float[]> expected)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        double diff = 0, norm = 0, worst = 0;
        foreach (var (key, e) in expected)
        {
            var a = actual[key];
            for (var i = 0; i < e.Length; i++)
            {
                var d = (double)a[i] - e[i];
                diff += d * d;
                norm += (double)e[i] * e[i];
                worst = Math.Max(worst, Math.Abs(d));
            }
        }
        return (Math.Sqrt(diff / norm), worst);
    }

    void AssertSame(Dictionary<string, float[]> actual, Dictionary<string, float[]> expected, double relative, string what)
    {
        var (r, worst) = Difference(actual, expected);
        output.WriteLine($"{what}: relative L2 {r:E2}, largest element difference {worst:E2}");
        Assert.True(r < relative && worst < 10 * relative, $"{what} differ: relative L2 {r:E2}, largest element difference {worst:E2}");
    }

    [Fact]
    public async Task Two_workers_with_batch_B_give_the_weights_of_one_worker_with_batch_2B()
    {
        var baseline = LiveTensors.Settled();
        var single = await TrainAsync(workers: 1, accumulation: 1, batch: 8, steps: 4, totalSteps: 4);
        var pair = await TrainAsync(workers: 2, accumulation: 1, batch: 4, steps: 4, totalSteps: 4);
        AssertSame(pair.Weights, single.Weights, 1e-5, "weights");
        for (var s = 0; s < 4; s++)
        {
            Assert.Equal(single.Steps[s].MaskedTokens, pair.Steps[s].MaskedTokens); // the same masks, split differently
            Assert.Equal(single.Steps[s].Loss, pair.Steps[s].Loss, 5);
        }
        Assert.True(pair.Steps[^1].Loss < pair.Steps[0].Loss, "the loss did not fall");
        Assert.Equal(baseline, LiveTensors.Settled());
    }

    [Fact]
    public async Task K_accumulated_micro_batches_of_B_give_one_step_of_K_times_B()
    {
        var whole = await TrainAsync(workers: 1, accumulation: 1, batch: 12, steps: 3, totalSteps: 3);
        var accumulated = await TrainAsync(workers: 1, accumulation: 3, batch: 4, steps: 3, totalSteps: 3);
        var both = await TrainAsync(workers: 2, accumulation: 2, batch: 3, steps: 3, totalSteps: 3);
        AssertSame(accumulated.Weights, whole.Weights, 1e-5, "weights");
        AssertSame(both.Weights, whole.Weights, 1e-5, "weights");
    }

    [Fact]
    public async Task Reducing_in_buckets_while_backward_runs_gives_the_same_step()
    {
        var baseline = LiveTensors.Settled();
        var whole = await TrainAsync(workers: 1, accumulation: 1, batch: 12, steps: 3, totalSteps: 3);
        var after = await TrainAsync(workers: 2, accumulation: 3, batch: 2, steps: 3, totalSteps: 3);
        // 0.01 MB: the tiny model's gradients (about 0.2 MB) in many buckets; 25 MB: DDP's default, a 1 MB first bucket and the rest
        foreach (var megabytes in new[] { 0.01, 25 })
        {
            var during = await TrainAsync(workers: 2, accumulation: 3, batch: 2, steps: 3, totalSteps: 3, bucketMegabytes: megabytes);
            // Two ranks' sums are the same additions whichever way the buffer is cut: identical, not merely close.
            Assert.Equal(0, Difference(during.Weights, after.Weights).MaxAbsolute);
            Assert.Equal(after.Steps.Select(s => s.Loss), during.Steps.Select(s => s.Loss));
            AssertSame(during.Weights, whole.Weights, 1e-5, $"weights ({megabytes} MB buckets)");
            Assert.All(during.Steps, s => Assert.True(s.Reduction.Seconds > 0 && s.Reduction.ExposedSeconds >= 0, $"timing {s.Reduction}"));
        }
        Assert.Equal(baseline, LiveTensors.Settled());
    }

    [Fact]
    public void The_buckets_cover_the_buffer_last_parameters_first()
    {
        using var scope = torch.NewDisposeScope();
        using var replica = PretrainingReplica.Create(corpus.TinyConfig(), Seed, Settings(1), Device.CPU);
        using var buckets = new BucketedReduction(replica.Parameters.Select(p => (Tensor)p.Parameter).ToArray(), replica.GradientElements,
            new SingleReplicaReducer(), 0.02, Device.CPU);
        var sizes = buckets.BucketSizes.ToArray();
        Assert.Equal(replica.GradientElements, sizes.Sum());
        Assert.True(sizes.Length > 2, $"only {sizes.Length} buckets");
        // Every bucket but the last (it holds what is left, the embeddings first) reaches its cap: 0.02 MB, float32.
        Assert.All(sizes[..^1], n => Assert.True(n * 4 >= 0.02 * (1 << 20), $"a bucket of {n} elements"));
    }

    [Fact]
    public async Task A_job_resumed_from_its_checkpoint_equals_one_that_never_stopped()
    {
        var checkpoints = Path.Combine(corpus.Root, $"checkpoints-{Guid.NewGuid():N}");
        var straight = await TrainAsync(workers: 2, accumulation: 1, batch: 4, steps: 6, totalSteps: 6, checkpoints, saveAfter: 3);
        var latest = TrainingCheckpoint.Latest(checkpoints);
        Assert.NotNull(latest);
        Assert.Equal(3, TrainingCheckpoint.ReadState(latest!).Step);
        var resumed = await TrainAsync(workers: 2, accumulation: 1, batch: 4, steps: 3, totalSteps: 6, resumeFrom: latest);
        AssertSame(resumed.Weights, straight.Weights, 1e-6, "weights");
        AssertSame(resumed.OptimizerState, straight.OptimizerState, 1e-6, "optimizer states");
        Assert.Equal(straight.Steps[3..].Select(s => s.LearningRate), resumed.Steps.Select(s => s.LearningRate));
    }

    [Fact]
    public void A_half_written_checkpoint_is_never_the_latest()
    {
        var checkpoints = Path.Combine(corpus.Root, $"partial-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(checkpoints, "step-00000009.partial"));
        File.WriteAllText(Path.Combine(checkpoints, "step-00000009.partial", "trainer_state.json"), "{}");
        Directory.CreateDirectory(Path.Combine(checkpoints, "step-00000012")); // no files: a crash before any was written
        Assert.Null(TrainingCheckpoint.Latest(checkpoints));
    }
}
