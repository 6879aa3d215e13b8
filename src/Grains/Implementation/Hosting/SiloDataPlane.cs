using System.Net;
using Cluster.DataPlane;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace Cluster.Grains.Hosting;

/// <summary>Tensor bytes between silos, for grains: a control message (a grain call) carries the transfer id and the
/// sizes, the bytes go over the target silo's bulk channel, whose endpoint its metadata advertises.</summary>
public sealed class SiloDataPlane(LocalSilo local, ISiloMetadataCache metadata)
{
    public Task SendAsync(SiloAddress target, Guid transfer, IReadOnlyList<ReadOnlyMemory<byte>> segments, CancellationToken cancellation)
    {
        var sender = local.BulkSender ?? throw new BulkChannelException("this silo has no bulk channel");
        return sender.SendAsync(EndpointOf(target), transfer, segments, cancellation);
    }

    public Task<byte[][]> ReceiveAsync(Guid transfer, CancellationToken cancellation)
        => (local.BulkReceiver ?? throw new BulkChannelException("this silo has no bulk channel")).ReceiveAsync(transfer, cancellation);

    public IPEndPoint EndpointOf(SiloAddress silo)
    {
        if (!metadata.GetSiloMetadata(silo).Metadata.TryGetValue(SiloMetadataKeys.BulkEndpoint, out var text) || !IPEndPoint.TryParse(text, out var endpoint))
            throw new BulkChannelException($"silo {silo} advertises no bulk channel endpoint (yet)");
        return endpoint;
    }
}
