namespace Cluster.Serving;

/// <summary>The latencies of a replica's last <see cref="Capacity"/> answered requests, for its p50/p99 (the dashboard,
/// <c>GET /v1/models</c>). A window rather than the Prometheus histogram: a person asks how the replica does now, and a
/// histogram's buckets only bound a percentile.</summary>
public sealed class LatencyWindow
{
    public const int Capacity = 2048;

    readonly double[] _seconds = new double[Capacity];
    long _count;

    public void Record(double seconds)
    {
        lock (_seconds) _seconds[_count++ % Capacity] = seconds;
    }

    /// <summary>The window's p50 and p99 (nearest rank), or null when nothing was answered yet.</summary>
    public LatencySummary? Summary()
    {
        double[] window;
        long count;
        lock (_seconds)
        {
            count = _count;
            window = _seconds[..(int)Math.Min(_count, Capacity)];
        }
        if (window.Length == 0) return null;
        Array.Sort(window);
        return new LatencySummary(count, NearestRank(window, 0.50), NearestRank(window, 0.99));
    }

    /// <summary>The smallest value with at least <paramref name="q"/> of the sorted values at or below it.</summary>
    public static double NearestRank(double[] sorted, double q) =>
        sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
}

/// <summary>Requests answered so far, and the p50/p99 latency in seconds of the last <see cref="LatencyWindow.Capacity"/>.</summary>
public sealed record LatencySummary(long Requests, double P50Seconds, double P99Seconds);
