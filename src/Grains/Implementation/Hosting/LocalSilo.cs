using Cluster.DataPlane;

namespace Cluster.Grains.Hosting;

/// <summary>What this silo has, as its grains see it: its devices, its end of the bulk channel, and how data-plane
/// connections authenticate (the coordinator all-reduce uses it too).</summary>
public sealed class LocalSilo(IReadOnlyList<string> devices, BulkReceiver? bulkReceiver, BulkSender? bulkSender, BulkChannelSecurity? bulkSecurity = null)
{
    public BulkChannelSecurity? BulkSecurity { get; } = bulkSecurity;
    public IReadOnlyList<string> Devices { get; } = devices;
    public BulkReceiver? BulkReceiver { get; } = bulkReceiver;
    public BulkSender? BulkSender { get; } = bulkSender;
    public DateTime StartedAt { get; } = DateTime.UtcNow;
}
