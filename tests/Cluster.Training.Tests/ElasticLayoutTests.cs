using Xunit;

namespace Cluster.Training.Tests;

public sealed class ElasticLayoutTests
{
    [Theory]
    [InlineData(4, 1, 3, 2, 2)]   // 3 workers cannot split 4 shares: 2 × 2
    [InlineData(4, 2, 3, 2, 4)]
    [InlineData(2, 1, 1, 1, 2)]   // the recovery test's case: one survivor doubles its accumulation
    [InlineData(3, 1, 2, 1, 3)]
    [InlineData(2, 1, 5, 2, 1)]   // more devices than shares: never more workers than the batch has shares
    [InlineData(2, 4, 0, 0, 0)]   // nobody left
    public void Keeps_the_global_batch_with_the_workers_available(int workers, int accumulation, int available, int expectedWorkers, int expectedAccumulation) =>
        Assert.Equal((expectedWorkers, expectedAccumulation), ElasticLayout.Reform(workers, accumulation, available));

    [Fact]
    public void Takes_the_largest_group_that_divides_the_batch()
    {
        for (var w = 1; w <= 8; w++)
            for (var k = 1; k <= 8; k++)
                for (var available = 1; available <= 12; available++)
                {
                    var (workers, accumulation) = ElasticLayout.Reform(w, k, available);
                    Assert.Equal(w * k, workers * accumulation);
                    Assert.InRange(workers, 1, available);
                    // No larger group up to the devices available splits the batch evenly.
                    Assert.DoesNotContain(Enumerable.Range(workers + 1, Math.Max(0, available - workers)), n => w * k % n == 0);
                }
    }

    [Fact]
    public void Refuses_impossible_plans()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ElasticLayout.Reform(0, 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ElasticLayout.Reform(1, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ElasticLayout.Reform(1, 1, -1));
    }
}
