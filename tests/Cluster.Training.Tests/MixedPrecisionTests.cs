using Cluster.Testing;
using Cluster.Torch;
using Cluster.Training.Batching;
using Cluster.Training.Data;
using Cluster.Training.Masking;
using Cluster.Training.Reduction;

namespace Cluster.Training.Tests;

/// <summary>Masked-LM pretraining under bf16 autocast (<see cref="OptimizerSettings.Bf16"/>): the same seed and batches as
/// a float32 run, so the two differ by bf16 rounding in the forward passes only.</summary>
[Collection("corpus")]
public sealed class MixedPrecisionTests(TestCorpus corpus, Xunit.Abstractions.ITestOutputHelper output)
{
    const int Steps = 60;

    (double[] Losses, ScalarType[] ParameterTypes, ScalarType[] GradientTypes) Train(bool bf16)
    {
        using var shards = TokenCorpus.Open(corpus.ShardDirectory);
        var examples = new PretrainingExamples(shards, 24, ExampleMode.Packed);
        var masking = new DynamicMasking(shards.Manifest.MaskTokenId, shards.Manifest.VocabSize, shards.Manifest.SpecialTokenIds.ToHashSet());
        var settings = new OptimizerSettings { LearningRate = 2e-3, TotalSteps = Steps, WarmupSteps = 5, Bf16 = bf16 };
        using var replica = PretrainingReplica.Create(corpus.TinyConfig(), 7, settings, Device.CPU);
        using var reducer = new SingleReplicaReducer();
        var plan = new GlobalBatchPlan(examples.Count, 16, 7);
        var worker = new PretrainingWorker(replica, examples, masking, plan, 7, shards.Manifest.PadTokenId);
        var losses = new double[Steps];
        for (var step = 0; step < Steps; step++) losses[step] = worker.TrainStep(step, new WorkerLayout(0, 1, 1, 16), reducer).Loss;
        // One more micro-batch by hand, to see its gradients before a step would consume them.
        replica.Accumulate(MlmBatch.Build(examples, masking, 7, plan.MicroBatch(Steps, 0, 1, 0, 16), shards.Manifest.PadTokenId));
        var gradients = replica.Parameters.Select(p => p.Parameter.grad!.dtype).Distinct().ToArray();
        replica.Optimizer.zero_grad();
        return (losses, replica.Parameters.Select(p => p.Parameter.dtype).Distinct().ToArray(), gradients);
    }

    [Fact]
    public void A_bf16_run_keeps_float32_weights_and_gradients_starts_within_rounding_of_float32_and_learns_as_it_does()
    {
        var baseline = LiveTensors.Settled();
        var float32 = Train(bf16: false);
        var bf16 = Train(bf16: true);
        output.WriteLine($"loss float32 {float32.Losses[0]:F4} → {float32.Losses[^10..].Average():F4}; bf16 {bf16.Losses[0]:F4} → {bf16.Losses[^10..].Average():F4}");
        Assert.Equal([ScalarType.Float32], bf16.ParameterTypes);
        Assert.Equal([ScalarType.Float32], bf16.GradientTypes);
        Assert.NotEqual(float32.Losses[0], bf16.Losses[0]); // autocast was on
        Assert.True(Math.Abs(bf16.Losses[0] - float32.Losses[0]) < 0.01 * float32.Losses[0], $"first loss {bf16.Losses[0]} against {float32.Losses[0]}");
        var (start, end, end32) = (bf16.Losses[..10].Average(), bf16.Losses[^10..].Average(), float32.Losses[^10..].Average());
        Assert.True(end < 0.85 * start, $"bf16's loss went from {start:F3} to {end:F3} only");
        Assert.True(Math.Abs(end - end32) < 0.05 * end32, $"after {Steps} steps bf16's loss is {end:F3}, float32's {end32:F3}");
        Assert.Equal(baseline, LiveTensors.Settled());
    }
}
