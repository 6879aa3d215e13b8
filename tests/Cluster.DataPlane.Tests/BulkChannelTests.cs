using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cluster.Testing;

namespace Cluster.DataPlane.Tests;

public sealed class BulkChannelTests
{
    static readonly IPEndPoint AnyLoopbackPort = new(IPAddress.Loopback, 0);

    static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    static async Task<byte[][]> RoundTripAsync(BulkChannelSecurity receiverSecurity, BulkChannelSecurity senderSecurity, params byte[][] segments)
    {
        await using var receiver = new BulkReceiver(AnyLoopbackPort, receiverSecurity);
        receiver.Start();
        using var sender = new BulkSender(senderSecurity);
        var id = Guid.NewGuid();
        var received = receiver.ReceiveAsync(id, new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
        await sender.SendAsync(receiver.EndPoint, id, segments.Select(s => (ReadOnlyMemory<byte>)s).ToList(), CancellationToken.None);
        var result = await received;
        Assert.Equal(segments.Sum(s => (long)s.Length), receiver.BytesReceived);
        return result;
    }

    [Fact]
    public async Task Segments_arrive_intact_with_the_shared_secret()
    {
        var (a, b, empty) = (RandomBytes(3 << 20, 1), RandomBytes(12345, 2), Array.Empty<byte>());
        var received = await RoundTripAsync(BulkChannelSecurity.SharedSecret("s3cret"), BulkChannelSecurity.SharedSecret("s3cret"), a, empty, b);
        Assert.Equal(3, received.Length);
        Assert.Equal(a, received[0]);
        Assert.Empty(received[1]);
        Assert.Equal(b, received[2]);
    }

    [Fact]
    public async Task Segments_arrive_intact_over_mutual_tls_with_the_cluster_ca()
    {
        using var ca = new TestCertificates();
        using var server = ClusterCertificates.From(ca.Issue("silo-a"), ca.Authority);
        using var client = ClusterCertificates.From(ca.Issue("silo-b"), ca.Authority);
        var data = RandomBytes(2 << 20, 3);
        var received = await RoundTripAsync(BulkChannelSecurity.Tls(server), BulkChannelSecurity.Tls(client), data);
        Assert.Equal(data, received.Single());
    }

    [Fact]
    public async Task Transfers_are_told_apart_by_id_and_may_arrive_before_they_are_asked_for()
    {
        var security = BulkChannelSecurity.SharedSecret("x");
        await using var receiver = new BulkReceiver(AnyLoopbackPort, security);
        receiver.Start();
        using var sender = new BulkSender(security);
        var ids = Enumerable.Range(0, 4).Select(_ => Guid.NewGuid()).ToArray();
        for (var i = 0; i < ids.Length; i++)
            await sender.SendAsync(receiver.EndPoint, ids[i], [RandomBytes(1000 + i, i)], CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        for (var i = ids.Length - 1; i >= 0; i--)
            Assert.Equal(RandomBytes(1000 + i, i), (await receiver.ReceiveAsync(ids[i], timeout.Token)).Single());
    }

    [Fact]
    public async Task A_connection_with_the_wrong_secret_is_closed_and_delivers_nothing()
    {
        await using var receiver = new BulkReceiver(AnyLoopbackPort, BulkChannelSecurity.SharedSecret("right"));
        receiver.Start();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(receiver.EndPoint);
        var wrong = Encoding.UTF8.GetBytes("wrong");
        var frame = new byte[4 + wrong.Length + 20 + 8 + 16];
        BinaryPrimitives.WriteInt32LittleEndian(frame, wrong.Length);
        wrong.CopyTo(frame, 4);
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(4 + wrong.Length + 16), 1);
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(4 + wrong.Length + 20), 16);
        await socket.SendAsync(frame, SocketFlags.None);
        Assert.Equal(0, await ReadUntilClosedAsync(socket));
        Assert.Equal(0, receiver.BytesReceived);
    }

    [Fact]
    public async Task A_peer_whose_certificate_another_ca_issued_is_refused_both_ways()
    {
        using var ours = new TestCertificates("Our CA");
        using var theirs = new TestCertificates("Another CA");
        using var silo = ClusterCertificates.From(ours.Issue("silo"), ours.Authority);
        using var stranger = ClusterCertificates.From(theirs.Issue("stranger"), theirs.Authority);

        await using var receiver = new BulkReceiver(AnyLoopbackPort, BulkChannelSecurity.Tls(silo));
        receiver.Start();
        // A client that trusts anything, presenting the stranger's certificate or none: our receiver refuses it.
        foreach (var presented in new[] { stranger.Certificate, null })
            Assert.False(await TlsClientDeliversAsync(receiver, presented));
        Assert.True(await TlsClientDeliversAsync(receiver, silo.Certificate)); // the same client with one of ours gets through

        // A stranger's receiver is not trusted by our sender either.
        await using var strangeReceiver = new BulkReceiver(AnyLoopbackPort, BulkChannelSecurity.Tls(stranger));
        strangeReceiver.Start();
        using (var sender = new BulkSender(BulkChannelSecurity.Tls(silo)))
        {
            var refused = await Assert.ThrowsAsync<BulkAuthenticationException>(
                () => sender.SendAsync(strangeReceiver.EndPoint, Guid.NewGuid(), [new byte[100]], CancellationToken.None));
            Assert.Contains("TLS handshake", refused.Message);
        }
        Assert.Equal(4, receiver.BytesReceived); // only the accepted client's
        Assert.Equal(0, strangeReceiver.BytesReceived);
    }

    [Fact]
    public async Task A_plain_connection_to_a_tls_receiver_delivers_nothing()
    {
        using var ca = new TestCertificates();
        using var silo = ClusterCertificates.From(ca.Issue("silo"), ca.Authority);
        await using var receiver = new BulkReceiver(AnyLoopbackPort, BulkChannelSecurity.Tls(silo));
        receiver.Start();
        using var sender = new BulkSender(BulkChannelSecurity.SharedSecret("guess"));
        try { await sender.SendAsync(receiver.EndPoint, Guid.NewGuid(), [new byte[1 << 20]], CancellationToken.None); }
        catch (BulkChannelException) { } // the receiver may close before the bytes are all written
        await Task.Delay(200);
        Assert.Equal(0, receiver.BytesReceived);
    }

    [Fact]
    public async Task A_transfer_over_the_size_limit_is_refused_before_its_bytes_are_read()
    {
        var security = BulkChannelSecurity.SharedSecret("x");
        await using var receiver = new BulkReceiver(AnyLoopbackPort, security, maxBytes: 1 << 20);
        receiver.Start();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(receiver.EndPoint);
        var frame = new byte[4 + 1 + 20 + 8];
        BinaryPrimitives.WriteInt32LittleEndian(frame, 1);
        frame[4] = (byte)'x';
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(5 + 16), 1);
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(5 + 20), 1L << 40); // a terabyte announced
        await socket.SendAsync(frame, SocketFlags.None);
        Assert.Equal(0, await ReadUntilClosedAsync(socket));
        Assert.Equal(0, receiver.BytesReceived);
    }

    [Fact]
    public async Task A_taken_port_and_an_unreachable_peer_are_clear_errors()
    {
        var security = BulkChannelSecurity.SharedSecret("x");
        await using var first = new BulkReceiver(AnyLoopbackPort, security);
        var taken = Assert.Throws<BulkChannelException>(() => new BulkReceiver(first.EndPoint, security));
        Assert.Contains($"the bulk port {first.EndPoint.Port} on 127.0.0.1 is already in use", taken.Message);

        var port = first.EndPoint.Port;
        await first.DisposeAsync();
        using var sender = new BulkSender(security);
        var unreachable = await Assert.ThrowsAsync<BulkChannelException>(
            () => sender.SendAsync(new IPEndPoint(IPAddress.Loopback, port), Guid.NewGuid(), [new byte[1]], CancellationToken.None));
        Assert.Contains("is unreachable", unreachable.Message);
    }

    [Fact]
    public void Certificates_from_another_ca_or_without_a_key_are_refused_when_loaded()
    {
        using var ours = new TestCertificates("Our CA");
        using var theirs = new TestCertificates("Another CA");
        var foreign = Assert.Throws<ClusterCertificateException>(() => ClusterCertificates.From(theirs.Issue("x"), ours.Authority));
        Assert.Contains("is not issued by the cluster CA", foreign.Message);
        using var withKey = ours.Issue("y");
        using var publicOnly = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(withKey.RawData);
        Assert.Contains("has no private key", Assert.Throws<ClusterCertificateException>(() => ClusterCertificates.From(publicOnly, ours.Authority)).Message);

        var directory = Directory.CreateTempSubdirectory("certs").FullName;
        try
        {
            var (cert, key, ca) = ours.WritePem(directory, "silo");
            using var loaded = ClusterCertificates.Load(cert, key, ca);
            Assert.Equal("CN=silo", loaded.Certificate.Subject);
            var missing = Assert.Throws<ClusterCertificateException>(() => ClusterCertificates.Load(cert, Path.Combine(directory, "none.key"), ca));
            Assert.Contains("private key file", missing.Message);
            File.WriteAllText(key, "not a key");
            Assert.Contains("cannot be loaded", Assert.Throws<ClusterCertificateException>(() => ClusterCertificates.Load(cert, key, ca)).Message);
        }
        finally { Directory.Delete(directory, true); }
    }

    /// <summary>Whether a TLS client that accepts any server delivers a transfer: the receiver hands it out, or
    /// closes the connection first.</summary>
    static async Task<bool> TlsClientDeliversAsync(BulkReceiver receiver, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(receiver.EndPoint);
        await using var tls = new System.Net.Security.SslStream(tcp.GetStream());
        var id = Guid.NewGuid();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var delivered = receiver.ReceiveAsync(id, timeout.Token);
        try
        {
            await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
            {
                TargetHost = "cluster",
                ClientCertificates = certificate is null ? null : [certificate],
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            });
            var transfer = new byte[20 + 8 + 4];
            id.TryWriteBytes(transfer);
            BinaryPrimitives.WriteInt32LittleEndian(transfer.AsSpan(16), 1);
            BinaryPrimitives.WriteInt64LittleEndian(transfer.AsSpan(20), 4);
            await tls.WriteAsync(transfer);
            await tls.FlushAsync();
            // TLS 1.3 lets the client finish before the server has checked its certificate: a refusal shows as a close.
            var closed = tls.ReadAsync(new byte[1], timeout.Token).AsTask();
            return await Task.WhenAny(delivered, closed) == delivered && delivered.IsCompletedSuccessfully;
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException) { return false; }
    }

    static async Task<int> ReadUntilClosedAsync(Socket socket)
    {
        var buffer = new byte[1];
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try { return await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token); }
        catch (SocketException) { return 0; } // a reset is a close too
    }
}
