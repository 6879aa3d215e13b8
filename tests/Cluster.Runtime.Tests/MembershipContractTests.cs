using Cluster.Runtime.Membership;

namespace Cluster.Runtime.Tests;

/// <summary>What every membership implementation must do, checked against each: in-memory always,
/// PostgreSQL when scripts/test.sh has started one (see <see cref="PostgresMembershipTests"/>).</summary>
public sealed class MembershipContractTests : IAsyncLifetime
{
    readonly List<IAsyncDisposable> _opened = [];

    public static TheoryData<string> Tables()
    {
        var data = new TheoryData<string> { "memory" };
        if (TestPostgres.ConnectionString is not null) data.Add("postgres");
        return data;
    }

    async Task<IClusterMembership> OpenAsync(string kind)
    {
        if (kind == "memory") return new InMemoryMembership();
        var table = await PostgresMembership.OpenAsync(TestPostgres.ConnectionString!, "contract-" + Guid.NewGuid().ToString("N")[..8], default);
        _opened.Add(table);
        return table;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var table in _opened) await table.DisposeAsync();
    }

    static SiloEntry Entry(SiloAddress address, params string[] devices) =>
        new(address, "s", "http://gw/", devices, SiloStatus.Active, DateTimeOffset.UtcNow);

    static readonly long Generation = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    static SiloAddress Silo(int port) => new("127.0.0.1", port, Generation);
    static GrainId Grain(string key) => new("Contract.IGrain", key + Generation);

    [Theory]
    [MemberData(nameof(Tables))]
    public async Task The_first_registration_wins_and_lookups_see_only_active_silos(string kind)
    {
        var table = await OpenAsync(kind);
        var (a, b) = (Silo(41001), Silo(41002));
        await table.JoinAsync(Entry(a), default);
        await table.JoinAsync(Entry(b), default);
        var grain = Grain("first");

        Assert.Equal(a, (await table.RegisterAsync(new GrainLocation(grain, a, null), default))!.Silo);
        Assert.Equal(a, (await table.RegisterAsync(new GrainLocation(grain, b, null), default))!.Silo);
        Assert.Equal(a, (await table.LookupAsync(grain, default))!.Silo);

        await table.UnregisterAsync(new GrainLocation(grain, b, null), default); // not b's: no effect
        Assert.NotNull(await table.LookupAsync(grain, default));
        await table.UnregisterAsync(new GrainLocation(grain, a, null), default);
        Assert.Null(await table.LookupAsync(grain, default));

        await table.LeaveAsync(b, default);
        Assert.Null(await table.RegisterAsync(new GrainLocation(Grain("on-left"), b, null), default));
        Assert.False(await table.HeartbeatAsync(b, default));
        await table.LeaveAsync(a, default);
    }

    [Theory]
    [MemberData(nameof(Tables))]
    public async Task A_device_holds_one_grain(string kind)
    {
        var table = await OpenAsync(kind);
        var a = Silo(41011);
        await table.JoinAsync(Entry(a, "cuda:0", "cuda:1"), default);
        Assert.NotNull(await table.RegisterAsync(new GrainLocation(Grain("w1"), a, "cuda:0"), default));
        Assert.Null(await table.RegisterAsync(new GrainLocation(Grain("w2"), a, "cuda:0"), default));
        Assert.NotNull(await table.RegisterAsync(new GrainLocation(Grain("w2"), a, "cuda:1"), default));
        var pinned = await table.ListPinnedAsync(default);
        Assert.Contains(pinned, p => p.Grain == Grain("w1") && p.Device == "cuda:0");
        Assert.Contains(pinned, p => p.Grain == Grain("w2") && p.Device == "cuda:1");
        await table.LeaveAsync(a, default);
        Assert.DoesNotContain(await table.ListPinnedAsync(default), p => p.Silo == a);
    }

    [Theory]
    [MemberData(nameof(Tables))]
    public async Task A_silo_that_stops_heartbeating_is_declared_dead_and_loses_its_grains(string kind)
    {
        var table = await OpenAsync(kind);
        var (live, silent) = (Silo(41021), Silo(41022));
        await table.JoinAsync(Entry(live), default);
        await table.JoinAsync(Entry(silent), default);
        var grain = Grain("orphan");
        await table.RegisterAsync(new GrainLocation(grain, silent, null), default);

        Assert.DoesNotContain(await table.DeclareDeadAsync(TimeSpan.FromMinutes(1), default), s => s == live || s == silent);
        // Wait on the condition (the silent silo's heartbeat ageing past 1 s), heartbeating the live one.
        var declared = false;
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            await table.HeartbeatAsync(live, default);
            declared |= (await table.DeclareDeadAsync(TimeSpan.FromSeconds(1), default)).Contains(silent);
            return declared;
        }, TimeSpan.FromSeconds(10)));

        var silos = await table.ReadSilosAsync(default);
        Assert.Equal(SiloStatus.Dead, silos.Single(s => s.Address == silent).Status);
        Assert.Equal(SiloStatus.Active, silos.Single(s => s.Address == live).Status);
        Assert.Null(await table.LookupAsync(grain, default));
        Assert.False(await table.HeartbeatAsync(silent, default));
        Assert.Equal(live, (await table.RegisterAsync(new GrainLocation(grain, live, null), default))!.Silo);
        await table.LeaveAsync(live, default);
    }
}

