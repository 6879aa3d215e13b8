using Cluster.DataPlane;

namespace Cluster.Grains.Hosting;

/// <summary>What this silo has, as its grains see it: its devices and its end of the bulk channel.</summary>
public sealed class LocalSilo(IReadOnlyList<string> devices, BulkReceiver? bulkReceiver, BulkSender? bulkSender)
{
    public IReadOnlyList<string> Devices { get; } = devices;
    public BulkReceiver? BulkReceiver { get; } = bulkReceiver;
    public BulkSender? BulkSender { get; } = bulkSender;
    public DateTime StartedAt { get; } = DateTime.UtcNow;
}
