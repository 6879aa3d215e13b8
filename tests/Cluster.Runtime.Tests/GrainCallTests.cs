namespace Cluster.Runtime.Tests;

[Collection("cluster")]
public sealed class GrainCallTests(ClusterFixture fixture)
{
    readonly Testing.TestCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task Calls_are_routed_to_activations_on_all_three_silos_and_stay_there()
    {
        var client = _cluster.Client;
        var keys = Enumerable.Range(0, 60).Select(i => $"route-{i}").ToList();
        var first = await Task.WhenAll(keys.Select(k => client.GetGrain<IEchoGrain>(k).WhereAmI()));
        var second = await Task.WhenAll(keys.Select(k => client.GetGrain<IEchoGrain>(k).WhereAmI()));

        Assert.Equal(first, second);
        var silos = _cluster.Silos.Select(s => s.Address.ToString()).ToHashSet();
        Assert.True(silos.SetEquals(first.ToHashSet()), $"grains landed on {string.Join(",", first.Distinct())}, silos are {string.Join(",", silos)}");
        Assert.All(keys, k => Assert.Equal(1, EchoGrain.Activations[k]));
    }

    [Fact]
    public async Task A_grain_calls_another_grain_wherever_it_lives()
    {
        var client = _cluster.Client;
        var target = await client.GetGrain<IEchoGrain>("callee").WhereAmI();
        for (var i = 0; i < 10; i++)
            Assert.Equal(target, await client.GetGrain<IEchoGrain>($"caller-{i}").CallOther("callee"));
    }

    [Fact]
    public async Task Arguments_and_results_keep_their_bytes_and_records()
    {
        var echo = _cluster.Client.GetGrain<IEchoGrain>("bytes");
        var data = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7)).ToArray();
        Assert.Equal(data.Reverse().ToArray(), await echo.Reverse(data));
        Assert.Empty(await echo.Reverse([]));

        var blob = new Blob("x", [1, 2, 3], [2, 3]);
        var renamed = await echo.Rename(blob, "ünïcode ✓");
        Assert.Equal("ünïcode ✓", renamed.Name);
        Assert.Equal(blob.Data, renamed.Data);
        Assert.Equal(blob.Shape, renamed.Shape);
        Assert.Equal(12345, await echo.Length(new byte[12345]));
    }

    [Fact]
    public async Task A_grain_exception_reaches_the_caller_with_its_type_and_message()
    {
        foreach (var silo in _cluster.Silos)
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => silo.GrainFactory.GetGrain<IEchoGrain>("thrower").Fail("broken on purpose"));
            Assert.Equal("broken on purpose", e.Message);
        }
        var viaClient = await Assert.ThrowsAsync<InvalidOperationException>(() => _cluster.Client.GetGrain<IEchoGrain>("thrower").Fail("again"));
        Assert.Equal("again", viaClient.Message);
        // The activation survives its exception.
        Assert.Equal(1, EchoGrain.Activations["thrower"]);
    }

    [Fact]
    public async Task A_call_past_its_timeout_fails_with_TimeoutException_and_the_grain_sees_cancellation()
    {
        using var client = await Client.ClusterClient.ConnectAsync(new Client.ClusterClientOptions
        {
            Gateways = _cluster.Silos.Select(s => s.GatewayUri).ToList(),
            CallTimeout = TimeSpan.FromMilliseconds(500),
        });
        var e = await Assert.ThrowsAsync<TimeoutException>(() => client.GetGrain<IEchoGrain>("hang-timeout").Hang(CancellationToken.None));
        Assert.Contains("Hang", e.Message);
        Assert.True(await Eventually.HoldsAsync(() => EchoGrain.SawCancellation.ContainsKey("hang-timeout"), TimeSpan.FromSeconds(10)),
            "the grain's CancellationToken never fired after the caller gave up");
    }

    [Fact]
    public async Task A_caller_cancellation_cancels_the_call_in_the_grain()
    {
        using var cts = new CancellationTokenSource();
        var call = _cluster.Client.GetGrain<IEchoGrain>("hang-cancel").Hang(cts.Token);
        Assert.True(await Eventually.HoldsAsync(() => EchoGrain.Hanging.ContainsKey("hang-cancel"), TimeSpan.FromSeconds(10)));
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.True(await Eventually.HoldsAsync(() => EchoGrain.SawCancellation.ContainsKey("hang-cancel"), TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_client_skips_a_gateway_that_refuses_connections()
    {
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var deadPort = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop(); // nothing listens there now
        using var client = await Client.ClusterClient.ConnectAsync(new Client.ClusterClientOptions
        {
            Gateways = [new Uri($"http://127.0.0.1:{deadPort}/"), _cluster.Silos[2].GatewayUri],
        });
        for (var i = 0; i < 6; i++) // round robin starts at each gateway in turn
            Assert.NotNull(await client.GetGrain<IEchoGrain>($"failover-{i}").WhereAmI());

        var none = await Assert.ThrowsAsync<SiloUnavailableException>(() => Client.ClusterClient.ConnectAsync(new Client.ClusterClientOptions
        {
            Gateways = [new Uri($"http://127.0.0.1:{deadPort}/")],
        }));
        Assert.Contains("no gateway is ready", none.Message);
    }

    [Fact]
    public async Task Prefer_local_placement_activates_on_the_calling_silo()
    {
        for (var i = 0; i < 12; i++)
        {
            var places = await _cluster.Client.GetGrain<IPlacerGrain>($"placer-{i}").PlaceLocal($"local-{i}");
            Assert.Equal(places[0], places[1]);
        }
    }

    [Fact]
    public async Task Hash_placement_is_a_function_of_the_key_and_spreads_keys()
    {
        var keys = Enumerable.Range(0, 30).Select(i => $"hashed-{i}").ToList();
        var places = await Task.WhenAll(keys.Select(k => _cluster.Client.GetGrain<IHashedGrain>(k).WhereAmI()));
        Assert.True(places.Distinct().Count() > 1, "every hashed key landed on one silo");

        // Independent check: FNV-1a of "type/key" over the active silos sorted by address.
        var active = _cluster.Silos.Select(s => s.Address.ToString()).Order(StringComparer.Ordinal).ToList();
        for (var i = 0; i < keys.Count; i++)
        {
            var hash = 14695981039346656037UL;
            foreach (var c in $"{typeof(IHashedGrain).FullName}/{keys[i]}") hash = (hash ^ c) * 1099511628211UL;
            Assert.Equal(active[(int)(hash % (ulong)active.Count)], places[i]);
        }
    }
}
