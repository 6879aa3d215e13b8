using System.Security.Cryptography;
using Cluster.Runtime.Client;

namespace Cluster.Runtime.Testing;

public sealed class TestClusterOptions
{
    public int InitialSilos { get; set; } = 3;
    /// <summary>The grains every silo hosts.</summary>
    public Action<GrainRegistry> Grains { get; set; } = _ => { };
    public Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? ConfigureServices { get; set; }
    /// <summary>Adjusts each silo's options (timeouts, devices; the silo's index is given).</summary>
    public Action<int, SiloOptions>? ConfigureSilo { get; set; }
    /// <summary>null: development membership with silo 0 holding the table. Otherwise "postgres:..." etc.</summary>
    public string? Membership { get; set; }
    public TimeSpan HeartbeatPeriod { get; set; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan DeathTimeout { get; set; } = TimeSpan.FromSeconds(1.5);
}

/// <summary>Silos on loopback ports in this process, sharing one cluster (development membership by
/// default: silo 0 holds the table), and a client connected to their gateways. For tests.</summary>
public sealed class TestCluster : IAsyncDisposable
{
    readonly TestClusterOptions _options;
    readonly string _secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
    readonly string _clusterId = "test-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
    readonly List<Silo> _silos = [];
    string? _primary;
    int _started;

    TestCluster(TestClusterOptions options) => _options = options;

    /// <summary>Live silos, in start order.</summary>
    public IReadOnlyList<Silo> Silos { get { lock (_silos) return _silos.ToList(); } }
    public ClusterClient Client { get; private set; } = null!;

    public static async Task<TestCluster> StartAsync(TestClusterOptions options)
    {
        var cluster = new TestCluster(options);
        try
        {
            for (var i = 0; i < options.InitialSilos; i++) await cluster.StartSiloAsync().ConfigureAwait(false);
            await cluster.WaitForMembershipAsync().ConfigureAwait(false);
            cluster.Client = await ClusterClient.ConnectAsync(new ClusterClientOptions
            {
                Gateways = cluster.Silos.Select(s => s.GatewayUri).ToList(),
            }).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts one more silo and returns once it has joined.</summary>
    public async Task<Silo> StartSiloAsync()
    {
        var index = Interlocked.Increment(ref _started) - 1;
        var membership = _options.Membership ?? (_primary is null ? "dev" : $"dev:{_primary}");
        var options = new SiloOptions
        {
            ClusterId = _clusterId,
            Name = $"silo-{index}",
            Port = 0,
            GatewayPort = 0,
            BulkPort = 0,
            Membership = membership,
            ClusterSecret = _secret,
            HeartbeatPeriod = _options.HeartbeatPeriod,
            DeathTimeout = _options.DeathTimeout,
        };
        _options.ConfigureSilo?.Invoke(index, options);
        var registry = new GrainRegistry();
        _options.Grains(registry);
        var silo = await Silo.StartAsync(new SiloSetup
        {
            Options = options,
            Grains = registry,
            ConfigureServices = _options.ConfigureServices,
        }).ConfigureAwait(false);
        _primary ??= $"{silo.Address.Host}:{silo.Address.Port}";
        lock (_silos) _silos.Add(silo);
        return silo;
    }

    public async Task StopSiloAsync(Silo silo)
    {
        lock (_silos) _silos.Remove(silo);
        await silo.StopAsync().ConfigureAwait(false);
    }

    public async Task KillSiloAsync(Silo silo)
    {
        lock (_silos) _silos.Remove(silo);
        await silo.KillAsync().ConfigureAwait(false);
    }

    /// <summary>Waits until every live silo's view holds exactly the live silos as active.</summary>
    public async Task WaitForMembershipAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? _options.DeathTimeout * 4 + TimeSpan.FromSeconds(5);
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var live = Silos;
            var expected = live.Select(s => s.Address).ToHashSet();
            if (live.All(s => s.View.Active.Select(a => a.Address).ToHashSet().SetEquals(expected))) return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"membership did not settle on {expected.Count} silos within {limit.TotalSeconds:0.#} s: "
                    + string.Join("; ", live.Select(s => $"{s.Address} sees {string.Join(",", s.View.Active.Select(a => a.Address))}")));
            await Task.Delay(_options.HeartbeatPeriod / 2).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        // Silo 0 holds the development table, so it goes last.
        foreach (var silo in Silos.AsEnumerable().Reverse())
            await silo.StopAsync().ConfigureAwait(false);
        lock (_silos) _silos.Clear();
    }
}
