using Cluster.Serving;
using Xunit;

namespace Cluster.Serving.Tests;

public sealed class LatencyWindowTests
{
    [Fact]
    public void Percentiles_are_nearest_rank_over_the_last_answers_only()
    {
        var window = new LatencyWindow();
        Assert.Null(window.Summary());
        // 1..100 shuffled: nearest rank puts p50 at 50 and p99 at 99.
        foreach (var v in Enumerable.Range(1, 100).OrderBy(i => (i * 37) % 101)) window.Record(v);
        var summary = window.Summary()!;
        Assert.Equal((100L, 50.0, 99.0), (summary.Requests, summary.P50Seconds, summary.P99Seconds));

        // A full window of 1000s pushes the first 100 out: they no longer count, though the total does.
        for (var i = 0; i < LatencyWindow.Capacity; i++) window.Record(1000);
        summary = window.Summary()!;
        Assert.Equal((100L + LatencyWindow.Capacity, 1000.0, 1000.0), (summary.Requests, summary.P50Seconds, summary.P99Seconds));
    }

    [Fact]
    public void One_answer_is_both_percentiles()
    {
        var window = new LatencyWindow();
        window.Record(0.25);
        Assert.Equal((0.25, 0.25), (window.Summary()!.P50Seconds, window.Summary()!.P99Seconds));
    }
}
