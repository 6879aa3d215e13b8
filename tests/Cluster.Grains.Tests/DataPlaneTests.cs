using System.Security.Cryptography;
using Cluster.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Cluster.Grains.Tests;

[Collection("cluster")]
public sealed class DataPlaneTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Bytes_announced_by_a_grain_call_travel_between_silos_over_the_bulk_channel_intact()
    {
        var (from, to) = (fixture.Cluster.Silos[0], fixture.Cluster.Silos[2]);
        var sender = from.ServiceProvider.GetRequiredService<SiloDataPlane>();
        var receiver = to.ServiceProvider.GetRequiredService<LocalSilo>().BulkReceiver!;
        var before = receiver.BytesReceived;
        var data = new byte[6 << 20];
        new Random(7).NextBytes(data);
        var segments = new ReadOnlyMemory<byte>[] { data.AsMemory(0, 1 << 20), data.AsMemory(1 << 20) };
        var transfer = Guid.NewGuid();

        Assert.True(await Eventually.HoldsAsync(() => Task.FromResult(TryEndpoint(sender, to.SiloAddress)), TimeSpan.FromSeconds(60)));
        var sink = fixture.Client.GetGrain<IBulkSinkGrain>(to.SiloAddress.ToParsableString());
        var received = sink.Receive(transfer, data.Length); // the control message may come before or after the bytes
        await sender.SendAsync(to.SiloAddress, transfer, segments, CancellationToken.None);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(data)), await received);
        Assert.Equal(before + data.Length, receiver.BytesReceived);
    }

    static bool TryEndpoint(SiloDataPlane dataPlane, Orleans.Runtime.SiloAddress silo)
    {
        try { dataPlane.EndpointOf(silo); return true; }
        catch (Cluster.DataPlane.BulkChannelException) { return false; }
    }
}
