using Cluster.Testing;
using Cluster.Torch;
using Cluster.Torch.Distributed;
using Cluster.Training.Batching;
using Cluster.Training.Data;
using Cluster.Training.Masking;
using Cluster.Training.Reduction;

namespace Cluster.Training.Tests;

/// <summary>RoCBert's objective (masked LM over every token plus the contrastive loss against attacked copies) with the
/// negatives gathered from every worker: 2 workers × B train exactly what 1 worker × 2B does (with negatives from its
/// own batch only, they could not), the logits span the global batch, and the contrastive loss falls.</summary>
public sealed class RoCBertPretrainingTests(Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<RoCBertCorpus>
{
    const ulong Seed = 42;
    static readonly TimeSpan Guard = TimeSpan.FromMinutes(5);
    readonly RoCBertCorpus _corpus = new();

    sealed record Run(Dictionary<string, float[]> Weights, StepResult[] Steps, long LogitsWidth);

    Task<Run> TrainAsync(int workers, int batch, long steps, ExampleMode mode, double learningRate = 3e-3, bool bf16 = false) => Task.Run(async () =>
    {
        using var shards = TokenCorpus.Open(_corpus.ShardDirectory);
        var examples = new PretrainingExamples(shards, 24, mode);
        var masking = new DynamicMasking(shards.Manifest.MaskTokenId, shards.Manifest.VocabSize, shards.Manifest.SpecialTokenIds.ToHashSet());
        var attack = CharacterAttack.FromTokenizer(_corpus.Tokenizer);
        using var server = workers > 1 ? new TCPStore("127.0.0.1", 0, isServer: true, timeout: Guard) : null;
        var ranks = Enumerable.Range(0, workers).Select(rank => Task.Factory.StartNew(() =>
        {
            using var scope = torch.NewDisposeScope();
            using var group = new RankReducer(server, rank, workers, Guard);
            var reducer = group.Reducer;
            var settings = new OptimizerSettings { LearningRate = learningRate, TotalSteps = steps, WarmupSteps = 1, Bf16 = bf16 };
            using var replica = PretrainingReplica.Create(_corpus.TinyConfig(), Seed, settings, Device.CPU, PretrainingObjective.RoCBertContrastive);
            var layout = new WorkerLayout(rank, workers, 1, batch);
            var worker = new PretrainingWorker(replica, examples, masking, new GlobalBatchPlan(examples.Count, layout.GlobalBatch, Seed), Seed,
                shards.Manifest.PadTokenId, attack);
            worker.SynchronizeWeights(reducer);
            var results = Enumerable.Range(0, (int)steps).Select(step => worker.TrainStep(step, layout, reducer)).ToArray();
            var weights = replica.Model.Module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32).ToArray<float>());
            return new Run(weights, results, worker.ContrastiveLogitsWidth);
        }, TaskCreationOptions.LongRunning)).ToArray();
        return (await Task.WhenAll(ranks).WaitAsync(Guard))[0];
    });

    [Fact]
    public async Task Two_workers_with_gathered_negatives_train_what_one_worker_with_the_whole_batch_does()
    {
        var baseline = LiveTensors.Settled();
        // Packed examples: no padding, whose length would differ between the splits and change float rounding only.
        var single = await TrainAsync(workers: 1, batch: 8, steps: 3, ExampleMode.Packed);
        var pair = await TrainAsync(workers: 2, batch: 4, steps: 3, ExampleMode.Packed);
        Assert.Equal(8, single.LogitsWidth);
        Assert.Equal(8, pair.LogitsWidth);   // each worker's 4 sentences chose among all 8 attacked copies
        for (var s = 0; s < 3; s++)
        {
            Assert.Equal(single.Steps[s].MaskedTokens, pair.Steps[s].MaskedTokens);
            Assert.Equal(single.Steps[s].Loss, pair.Steps[s].Loss, 4);
            Assert.Equal(single.Steps[s].ContrastiveLoss, pair.Steps[s].ContrastiveLoss, 4);
            Assert.True(single.Steps[s].ContrastiveLoss > 0);
        }
        double diff = 0, norm = 0;
        foreach (var (name, expected) in single.Weights)
            for (var i = 0; i < expected.Length; i++)
            {
                diff += Math.Pow(pair.Weights[name][i] - expected[i], 2);
                norm += expected[i] * (double)expected[i];
            }
        output.WriteLine($"relative L2 difference of the weights: {Math.Sqrt(diff / norm):E2}");
        Assert.True(Math.Sqrt(diff / norm) < 1e-5, $"weights differ by {Math.Sqrt(diff / norm):E2}");
        Assert.Equal(baseline, LiveTensors.Settled());
    }

    [Fact]
    public async Task Under_bf16_autocast_both_losses_stay_within_rounding_of_float32_with_gathered_negatives()
    {
        var baseline = LiveTensors.Settled();
        var float32 = await TrainAsync(workers: 2, batch: 4, steps: 3, ExampleMode.Packed);
        var bf16 = await TrainAsync(workers: 2, batch: 4, steps: 3, ExampleMode.Packed, bf16: true);
        Assert.Equal(8, bf16.LogitsWidth);
        for (var s = 0; s < 3; s++)
        {
            output.WriteLine($"step {s}: loss {float32.Steps[s].Loss:F5} / {bf16.Steps[s].Loss:F5}, contrastive {float32.Steps[s].ContrastiveLoss:F5} / {bf16.Steps[s].ContrastiveLoss:F5}");
            Assert.True(Math.Abs(bf16.Steps[s].Loss - float32.Steps[s].Loss) < 0.02 * float32.Steps[s].Loss, $"step {s}: loss {bf16.Steps[s].Loss} against {float32.Steps[s].Loss}");
            Assert.True(Math.Abs(bf16.Steps[s].ContrastiveLoss - float32.Steps[s].ContrastiveLoss) < 0.05 * float32.Steps[s].ContrastiveLoss,
                $"step {s}: contrastive loss {bf16.Steps[s].ContrastiveLoss} against {float32.Steps[s].ContrastiveLoss}");
        }
        Assert.NotEqual(float32.Steps[0].Loss, bf16.Steps[0].Loss); // autocast was on
        Assert.Equal(baseline, LiveTensors.Settled());
    }

    [Fact]
    public async Task The_contrastive_loss_falls()
    {
        // One sentence per example: at the start every pooled output looks alike (the loss is ln 8, chance).
        var run = await TrainAsync(workers: 1, batch: 8, steps: 40, ExampleMode.Line, learningRate: 2e-3);
        var contrastive = run.Steps.Select(s => s.ContrastiveLoss).ToArray();
        double first = contrastive.Take(5).Average(), last = contrastive.TakeLast(5).Average();
        output.WriteLine($"contrastive loss: first 5 steps {first:F3}, last 5 steps {last:F3} (chance: ln 8 = {Math.Log(8):F3})");
        Assert.True(last < 0.5 * first, $"the contrastive loss went from {first:F3} to {last:F3}");
    }
}
