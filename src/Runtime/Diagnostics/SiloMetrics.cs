using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Cluster.Runtime.Membership;

namespace Cluster.Runtime.Diagnostics;

/// <summary>Counters and latency histograms of the calls a silo's grains handle, rendered with the
/// catalog's activation counts and the membership view in Prometheus' text format.</summary>
internal sealed class SiloMetrics
{
    static readonly double[] Buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    sealed class Series
    {
        public readonly long[] BucketCounts = new long[Buckets.Length];
        public long Count, Failures;
        public double Sum;
    }

    readonly ConcurrentDictionary<(string Type, string Method), Series> _calls = new();

    public void RecordCall(string type, string method, double seconds, bool failed)
    {
        var series = _calls.GetOrAdd((type, method), _ => new Series());
        lock (series)
        {
            series.Count++;
            series.Sum += seconds;
            if (failed) series.Failures++;
            for (var i = 0; i < Buckets.Length; i++)
                if (seconds <= Buckets[i]) series.BucketCounts[i]++;
        }
    }

    public string Render(IReadOnlyDictionary<string, int> activationsByType, ClusterView view, SiloAddress self, long bulkBytesReceived)
    {
        var text = new StringBuilder();
        text.Append("# HELP cluster_bulk_received_bytes_total Binary segment bytes received over the bulk port.\n# TYPE cluster_bulk_received_bytes_total counter\n");
        text.Append(CultureInfo.InvariantCulture, $"cluster_bulk_received_bytes_total {bulkBytesReceived}\n");
        text.Append("# HELP cluster_activations Live grain activations on this silo.\n# TYPE cluster_activations gauge\n");
        foreach (var (type, count) in activationsByType.OrderBy(p => p.Key, StringComparer.Ordinal))
            text.Append(CultureInfo.InvariantCulture, $"cluster_activations{{type=\"{Escape(type)}\"}} {count}\n");

        text.Append("# HELP cluster_grain_calls_total Grain calls handled by this silo.\n# TYPE cluster_grain_calls_total counter\n");
        text.Append("# HELP cluster_grain_call_failures_total Grain calls that ended with an exception.\n# TYPE cluster_grain_call_failures_total counter\n");
        text.Append("# HELP cluster_grain_call_duration_seconds Time from a call's arrival at the activation to its result.\n# TYPE cluster_grain_call_duration_seconds histogram\n");
        foreach (var ((type, method), series) in _calls.OrderBy(p => p.Key.Type, StringComparer.Ordinal).ThenBy(p => p.Key.Method, StringComparer.Ordinal))
        {
            var labels = $"type=\"{Escape(type)}\",method=\"{Escape(method)}\"";
            lock (series)
            {
                text.Append(CultureInfo.InvariantCulture, $"cluster_grain_calls_total{{{labels}}} {series.Count}\n");
                text.Append(CultureInfo.InvariantCulture, $"cluster_grain_call_failures_total{{{labels}}} {series.Failures}\n");
                for (var i = 0; i < Buckets.Length; i++)
                    text.Append(CultureInfo.InvariantCulture, $"cluster_grain_call_duration_seconds_bucket{{{labels},le=\"{Buckets[i]}\"}} {series.BucketCounts[i]}\n");
                text.Append(CultureInfo.InvariantCulture, $"cluster_grain_call_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {series.Count}\n");
                text.Append(CultureInfo.InvariantCulture, $"cluster_grain_call_duration_seconds_sum{{{labels}}} {series.Sum}\n");
                text.Append(CultureInfo.InvariantCulture, $"cluster_grain_call_duration_seconds_count{{{labels}}} {series.Count}\n");
            }
        }

        text.Append("# HELP cluster_membership_silos Silos in this silo's membership view, by status.\n# TYPE cluster_membership_silos gauge\n");
        foreach (var status in Enum.GetValues<SiloStatus>())
            text.Append(CultureInfo.InvariantCulture, $"cluster_membership_silos{{status=\"{status.ToString().ToLowerInvariant()}\"}} {view.Silos.Count(s => s.Status == status)}\n");
        text.Append("# HELP cluster_membership_view_version How many times this silo has read the membership table.\n# TYPE cluster_membership_view_version counter\n");
        text.Append(CultureInfo.InvariantCulture, $"cluster_membership_view_version{{silo=\"{self}\"}} {view.Version}\n");
        return text.ToString();
    }

    static string Escape(string label) => label.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}
