namespace Cluster.Bench;

/// <summary>Our side and a reference timed alternately, so both see the same machine as its speed drifts: one warm-up
/// each, then pairs (about 10 s of ours, at least <c>minRepeats</c> and at most 10).</summary>
internal readonly record struct PairedTiming(double Ours, double Reference, double PairedMedian, int Pairs)
{
    /// <summary>Ours and Reference: each side's best seconds; PairedMedian: the median over pairs of reference / ours.</summary>
    public static PairedTiming Measure(Func<double> ours, Func<double> reference, int minRepeats)
    {
        reference();
        var warm = ours();
        var repeats = Math.Clamp((int)Math.Ceiling(10 / warm), minRepeats, 10);
        var pairs = Enumerable.Range(0, repeats).Select(_ => (ours: ours(), theirs: reference())).ToList();
        var median = pairs.Select(p => p.theirs / p.ours).Order().ElementAt(repeats / 2);
        return new PairedTiming(pairs.Min(p => p.ours), pairs.Min(p => p.theirs), median, repeats);
    }

    /// <summary>The reference's best time over ours.</summary>
    public double BestRatio => Reference / Ours;
}
