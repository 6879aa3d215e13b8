using System.Diagnostics.Metrics;
using Cluster.Grains.Hosting;

namespace Cluster.Silo;

/// <summary>The silo's own instruments (Orleans' come from its "Microsoft.Orleans" meter); exported at /metrics.</summary>
public sealed class SiloMetrics : IDisposable
{
    public const string MeterName = "Cluster.Silo";
    readonly Meter _meter = new(MeterName);

    public SiloMetrics(LocalSilo local)
    {
        _meter.CreateObservableCounter("cluster.bulk.received", () => local.BulkReceiver?.BytesReceived ?? 0, "By",
            "Tensor bytes received over this silo's bulk channel");
        _meter.CreateObservableGauge("cluster.devices", () => local.Devices.Count, "{device}", "Devices this silo advertises");
    }

    public void Dispose() => _meter.Dispose();
}
