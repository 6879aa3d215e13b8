using Cluster.Client.Connection;
using Cluster.Grains;
using Cluster.Testing;

namespace Cluster.Silo.Tests;

/// <summary>Mutual TLS with the cluster's own CA, between silos and from clients: a peer without a certificate that
/// CA issued is refused and activates nothing.</summary>
public sealed class TlsTests : IAsyncLifetime
{
    readonly TestDatabase _database = new();
    readonly TestCertificates _ours = new("Cluster CA"), _theirs = new("Another CA");
    readonly string _certs = Directory.CreateTempSubdirectory("cluster-tls").FullName;
    public Task InitializeAsync() => _database.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _ours.Dispose();
        _theirs.Dispose();
        Directory.Delete(_certs, recursive: true);
    }

    string Membership => $"postgres:{_database.ConnectionString}";

    string[] Tls(TestCertificates ca, string name)
    {
        var (cert, key, authority) = ca.WritePem(Path.Combine(_certs, name), name);
        return ["--tls-cert", cert, "--tls-key", key, "--tls-ca", authority];
    }

    SiloProcess StartSilo(TestCertificates ca, string name)
        => SiloProcess.Start(SiloPorts.Allocate(), ["--membership", Membership, "--cluster-id", "tls", "--name", name, "--advertised-host", "127.0.0.1", .. Tls(ca, name)]);

    Task<ClusterConnection> ConnectAsync(string[] tls) => ClusterConnection.ConnectAsync(
        new ClusterConnectionSettings(Membership, "tls", TlsCertificate: tls.ElementAtOrDefault(1), TlsKey: tls.ElementAtOrDefault(3), TlsAuthority: tls.ElementAtOrDefault(5))
        { ConnectTimeout = TimeSpan.FromSeconds(5) });

    [PostgresFact]
    public async Task Silos_and_clients_with_the_cluster_ca_talk_and_a_stranger_silo_or_client_is_refused_and_activates_nothing()
    {
        await using var a = StartSilo(_ours, "a");
        await using var b = StartSilo(_ours, "b");
        await a.WaitUpAsync();
        await b.WaitUpAsync();
        Assert.Contains("TLS", await a.WaitUpAsync());

        await using var good = await ConnectAsync(Tls(_ours, "client"));
        var management = good.Client.GetGrain<IManagementGrain>(0);
        var registry = good.Client.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key);
        Assert.True(await Eventually.HoldsAsync(async () => (await registry.GetStatus()).Members.Count(m => m.Status == "Active") == 2, TimeSpan.FromMinutes(1)));
        var before = await management.GetTotalActivationCount();

        // A client with another CA's certificate, and one without TLS, cannot connect.
        var stranger = await Assert.ThrowsAsync<ClusterConnectException>(() => ConnectAsync(Tls(_theirs, "stranger-client")));
        Assert.Contains("cannot connect to cluster", stranger.Message);
        await Assert.ThrowsAsync<ClusterConnectException>(() => ConnectAsync([]));

        // A silo with another CA's certificate cannot join: it gives up, and never becomes an active member.
        await using (var intruder = StartSilo(_theirs, "intruder"))
        {
            var joined = await Task.WhenAny(intruder.WaitUpAsync(), Task.Delay(TimeSpan.FromSeconds(30)));
            Assert.False(joined.IsCompletedSuccessfully && joined is Task<string>, $"the intruder joined: {intruder.Stdout}");
            Assert.DoesNotContain((await registry.GetStatus()).Members, m => m.Name == "intruder" && m.Status == "Active");
        }

        Assert.Equal(before, await management.GetTotalActivationCount());
        Assert.Equal(2, (await registry.GetStatus()).Members.Count(m => m.Status == "Active"));
    }
}
