using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Cluster.Runtime.Tests;

[Collection("cluster")]
public sealed class BulkChannelTests(ClusterFixture fixture)
{
    readonly Testing.TestCluster _cluster = fixture.Cluster;

    async Task<(string Key, Silo Home)> GrainAwayFrom(Silo caller, string prefix)
    {
        for (var i = 0; ; i++)
        {
            var home = await caller.GrainFactory.GetGrain<IEchoGrain>($"{prefix}-{i}").WhereAmI();
            if (home != caller.Address.ToString()) return ($"{prefix}-{i}", _cluster.Silos.Single(s => s.Address.ToString() == home));
        }
    }

    [Fact]
    public async Task Large_segments_between_silos_travel_over_the_bulk_port_intact()
    {
        var caller = _cluster.Silos[0];
        var (key, home) = await GrainAwayFrom(caller, "bulk");
        var before = home.Bulk.BytesReceived;
        var callerBefore = caller.Bulk.BytesReceived;
        var data = new byte[5 << 20];
        new Random(7).NextBytes(data);
        var reversed = await caller.GrainFactory.GetGrain<IEchoGrain>(key).Reverse(data);
        Assert.Equal(data.Reverse().ToArray(), reversed);
        Assert.Equal(before + data.Length, home.Bulk.BytesReceived);

        // The 5 MB result came back over the caller's bulk port too.
        Assert.Equal(callerBefore + data.Length, caller.Bulk.BytesReceived);

        // Below the threshold the segment stays in the HTTP/2 body.
        await caller.GrainFactory.GetGrain<IEchoGrain>(key).Reverse(new byte[1000]);
        Assert.Equal(before + data.Length, home.Bulk.BytesReceived);
    }

    [Fact]
    public async Task A_bulk_connection_without_the_secret_is_closed_and_delivers_nothing()
    {
        var silo = _cluster.Silos[1];
        var before = silo.Bulk.BytesReceived;
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, silo.BulkPort);
        var wrong = Encoding.UTF8.GetBytes(new string('x', silo.Options.ClusterSecret!.Length));
        var frame = new byte[4 + wrong.Length + 20 + 8 + 16];
        BinaryPrimitives.WriteInt32LittleEndian(frame, wrong.Length);
        wrong.CopyTo(frame, 4);
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(4 + wrong.Length + 16), 1);
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(4 + wrong.Length + 20), 16);
        await socket.SendAsync(frame, SocketFlags.None);
        var buffer = new byte[1];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int read;
        try { read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token); }
        catch (SocketException) { read = 0; } // a reset is a close too
        Assert.Equal(0, read);
        Assert.Equal(before, silo.Bulk.BytesReceived);
    }
}
