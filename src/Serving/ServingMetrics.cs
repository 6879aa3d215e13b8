using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Cluster.Serving;

/// <summary>The serving layer's instruments (System.Diagnostics.Metrics; the silo exports them as Prometheus text):
/// queue depth per replica, batch rows and tokens, and the time requests spend queued, tokenizing and in inference.</summary>
public static class ServingMetrics
{
    public const string MeterName = "Cluster.Serving";

    static readonly Meter Meter = new(MeterName);
    static readonly ConcurrentDictionary<string, long> Depths = new();

    public static readonly Histogram<double> QueueTime = Meter.CreateHistogram<double>("cluster_serving_queue_seconds", "s", "time a request waited in a replica's queue");
    public static readonly Histogram<double> TokenizeTime = Meter.CreateHistogram<double>("cluster_serving_tokenize_seconds", "s", "time to tokenize a request");
    public static readonly Histogram<double> InferenceTime = Meter.CreateHistogram<double>("cluster_serving_inference_seconds", "s", "time a batch took on its replica");
    public static readonly Histogram<long> BatchRows = Meter.CreateHistogram<long>("cluster_serving_batch_rows", null, "rows in a batch");
    public static readonly Histogram<long> BatchTokens = Meter.CreateHistogram<long>("cluster_serving_batch_tokens", null, "padded tokens in a batch");

    /// <summary>The gauge a HorizontalPodAutoscaler scales serving silos on (deploy/k8s), through a metrics adapter.</summary>
    public const string QueueDepthName = "cluster_serving_queue_depth";

    static readonly ObservableGauge<long> Depth = Meter.CreateObservableGauge(QueueDepthName,
        () => Depths.Select(kv => new Measurement<long>(kv.Value, new KeyValuePair<string, object?>("replica", kv.Key))), null, "requests waiting in a replica's queue");

    internal static void QueueDepth(string replica, long change) => Depths.AddOrUpdate(replica, change, (_, v) => v + change);

    internal static void Forget(string replica) => Depths.TryRemove(replica, out _);
}
