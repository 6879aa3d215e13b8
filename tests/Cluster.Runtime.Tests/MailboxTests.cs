namespace Cluster.Runtime.Tests;

[Collection("cluster")]
public sealed class MailboxTests(ClusterFixture fixture)
{
    readonly Testing.TestCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task Concurrent_calls_from_a_client_never_overlap_and_none_is_lost()
    {
        var grain = _cluster.Client.GetGrain<ISequenceGrain>("overlap");
        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => grain.Append(i)));
        // Over the network concurrent requests may arrive in any order; they still run one at a time.
        Assert.Equal(Enumerable.Range(0, 200), (await grain.Values()).Order());
        Assert.Equal(1, await grain.MaxConcurrency());
    }

    [Fact]
    public async Task Calls_queued_on_a_local_activation_run_in_fifo_order()
    {
        foreach (var silo in _cluster.Silos)
        {
            // Prefer-local placement puts the grain on the calling silo, so the calls never leave the process.
            // Once the grain is active (its location known), calls enter the mailbox in the order they were made.
            var grain = silo.GrainFactory.GetGrain<ILocalSequenceGrain>($"fifo-{silo.Address.Port}");
            Assert.Empty(await grain.Values());
            await Task.WhenAll(Enumerable.Range(0, 300).Select(i => grain.Append(i)));
            Assert.Equal(Enumerable.Range(0, 300), await grain.Values());
            Assert.Equal(1, await grain.MaxConcurrency());
        }
    }

    [Fact]
    public async Task Non_reentrant_grain_finishes_one_call_before_starting_the_next()
    {
        var gate = Gate.ByKey["non-reentrant"] = new Gate();
        var grain = _cluster.Client.GetGrain<IGateGrain>("non-reentrant");
        var a = grain.Pass("a");
        Assert.True(await Eventually.HoldsAsync(() => gate.Inside == 1, TimeSpan.FromSeconds(10)));
        var b = grain.Pass("b");
        gate.Release.SetResult();
        await Task.WhenAll(a, b);
        Assert.Equal(1, gate.MaxInside);
        Assert.Equal(["enter a", "exit a", "enter b", "exit b"], gate.Events.ToArray());
    }

    [Fact]
    public async Task Reentrant_grain_interleaves_calls_at_awaits_but_never_runs_two_turns_at_once()
    {
        var gate = Gate.ByKey["reentrant"] = new Gate();
        var grain = _cluster.Client.GetGrain<IReentrantGateGrain>("reentrant");
        var calls = Enumerable.Range(0, 8).Select(i => grain.Pass($"c{i}")).ToList();
        // All eight are inside at once: none could have finished, since the gate is still shut.
        Assert.True(await Eventually.HoldsAsync(() => gate.Inside == 8, TimeSpan.FromSeconds(10)), $"only {gate.Inside} calls entered");
        gate.Release.SetResult();
        await Task.WhenAll(calls);
        Assert.Equal(8, gate.MaxInside);
        Assert.Equal(1, gate.MaxRunningAtOnce);
    }

    [Fact]
    public async Task Timer_ticks_are_turns_that_never_overlap_a_call()
    {
        var grain = _cluster.Client.GetGrain<ITimerGrain>("ticker");
        await grain.Start(periodMilliseconds: 2);
        Assert.True(await Eventually.HoldsAsync(async () => await grain.Ticks() >= 5, TimeSpan.FromSeconds(10)));
        for (var i = 0; i < 5; i++) await grain.Busy();
        Assert.False(await grain.Overlapped());
        var before = await grain.Ticks();
        Assert.True(await Eventually.HoldsAsync(async () => await grain.Ticks() > before, TimeSpan.FromSeconds(10)), "the timer stopped ticking");
    }
}
