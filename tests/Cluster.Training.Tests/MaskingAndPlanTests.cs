using Cluster.Training.Batching;
using Cluster.Training.Masking;

namespace Cluster.Training.Tests;

public sealed class MaskingAndPlanTests
{
    static readonly DynamicMasking Masking = new(maskTokenId: 4, vocabSize: 1000, neverMasked: new HashSet<int> { 0, 1, 2 });

    [Fact]
    public void Masking_is_a_pure_function_of_seed_epoch_and_example_and_follows_the_15_80_10_10_recipe()
    {
        var random = new Random(3);
        var ids = Enumerable.Range(0, 200_000).Select(i => i % 50 == 0 ? 0 : random.Next(5, 1000)).ToArray();
        var (corrupted, labels) = (new int[ids.Length], new long[ids.Length]);
        var chosen = Masking.Apply(seed: 7, epoch: 2, example: 11, ids, corrupted, labels);

        var (again, againLabels) = (new int[ids.Length], new long[ids.Length]);
        Assert.Equal(chosen, Masking.Apply(7, 2, 11, ids, again, againLabels));
        Assert.Equal(corrupted, again);
        Assert.Equal(labels, againLabels);
        Assert.NotEqual(corrupted, Run(8, 2, 11)); // another seed
        Assert.NotEqual(corrupted, Run(7, 3, 11)); // another epoch
        Assert.NotEqual(corrupted, Run(7, 2, 12)); // another example

        var maskable = ids.Count(id => id != 0);
        Assert.All(Enumerable.Range(0, ids.Length).Where(i => ids[i] == 0), i => Assert.Equal(DynamicMasking.IgnoreIndex, labels[i]));
        Assert.InRange(chosen / (double)maskable, 0.145, 0.155); // 196k maskable: ±0.5% is over six standard deviations
        var picked = Enumerable.Range(0, ids.Length).Where(i => labels[i] != DynamicMasking.IgnoreIndex).ToArray();
        Assert.All(picked, i => Assert.Equal(ids[i], labels[i]));
        Assert.InRange(picked.Count(i => corrupted[i] == 4) / (double)chosen, 0.79, 0.81);
        Assert.InRange(picked.Count(i => corrupted[i] == ids[i]) / (double)chosen, 0.09, 0.11 + 0.001); // kept (a random draw can hit the same id)
        Assert.All(Enumerable.Range(0, ids.Length).Where(i => labels[i] == DynamicMasking.IgnoreIndex), i => Assert.Equal(ids[i], corrupted[i]));

        int[] Run(ulong seed, long epoch, long example)
        {
            var (c, l) = (new int[ids.Length], new long[ids.Length]);
            Masking.Apply(seed, epoch, example, ids, c, l);
            return c;
        }
    }

    [Theory]
    [InlineData(1, 1, 12)]
    [InlineData(2, 1, 6)]
    [InlineData(3, 2, 2)]
    [InlineData(4, 3, 1)]
    [InlineData(1, 4, 3)]
    public void Every_split_of_a_global_batch_covers_the_same_examples_once(int workers, int accumulation, int batch)
    {
        var plan = new GlobalBatchPlan(examples: 30, globalBatch: 12, seed: 5);
        var reference = new GlobalBatchPlan(30, 12, 5);
        for (var step = 0L; step < 6; step++)
        {
            var expected = reference.MicroBatch(step, 0, 1, 0, 12).Order().ToArray();
            var actual = Enumerable.Range(0, workers).SelectMany(w => Enumerable.Range(0, accumulation).SelectMany(k => plan.MicroBatch(step, w, workers, k, batch))).Order().ToArray();
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void Each_epoch_is_a_permutation_of_the_examples_and_epochs_differ()
    {
        var plan = new GlobalBatchPlan(examples: 1000, globalBatch: 8, seed: 1);
        var first = Enumerable.Range(0, 1000).Select(p => plan.At(p)).ToArray();
        var second = Enumerable.Range(1000, 1000).Select(p => plan.At(p)).ToArray();
        Assert.All(first, x => Assert.Equal(0, x.Epoch));
        Assert.All(second, x => Assert.Equal(1, x.Epoch));
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), first.Select(x => x.Example).Order());
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), second.Select(x => x.Example).Order());
        Assert.NotEqual(first.Select(x => x.Example), second.Select(x => x.Example));
        Assert.NotEqual(Enumerable.Range(0, 1000).Select(i => (long)i), first.Select(x => x.Example)); // shuffled
    }
}
