using Microsoft.Extensions.Logging;

namespace Cluster.Runtime.Membership;

/// <summary>Keeps a silo in the cluster: joins, heartbeats every period, declares dead any silo whose
/// heartbeat is older than the death timeout, refreshes the silo's <see cref="ClusterView"/>, and tells
/// the runtime which silos stopped being active. A silo that finds itself declared dead fences itself.</summary>
internal sealed class MembershipAgent : IAsyncDisposable
{
    readonly IClusterMembership _table;
    readonly SiloOptions _options;
    readonly ILogger _log;
    readonly CancellationTokenSource _stop = new();
    Task _loop = Task.CompletedTask;
    long _version;

    public MembershipAgent(IClusterMembership table, SiloOptions options, ILogger log) => (_table, _options, _log) = (table, options, log);

    public ClusterView View { get; private set; } = ClusterView.Empty;

    /// <summary>Silos that left the active set since the previous reading.</summary>
    public event Action<IReadOnlyList<SiloAddress>>? SilosLost;

    /// <summary>This silo was declared dead by the others: it must stop serving.</summary>
    public event Action? Fenced;

    public async Task JoinAsync(SiloEntry self, CancellationToken cancellation)
    {
        Self = self.Address;
        // The table may not be up yet (silo 0 or the database starting alongside this silo): keep trying
        // for a while, then fail with the reason.
        var deadline = DateTime.UtcNow + _options.JoinTimeout;
        while (true)
        {
            try
            {
                await _table.JoinAsync(self, cancellation).ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (e is not OperationCanceledException && DateTime.UtcNow < deadline)
            {
                _log.LogWarning("joining the membership failed, retrying: {Message}", e.Message);
                await Task.Delay(_options.HeartbeatPeriod, cancellation).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new SiloUnavailableException($"could not join the membership within {_options.JoinTimeout.TotalSeconds:0.#} s: {e.Message}", e);
            }
        }
        await RefreshAsync(cancellation).ConfigureAwait(false);
        _loop = Task.Run(LoopAsync);
    }

    public SiloAddress Self { get; private set; } = null!;

    async Task LoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.HeartbeatPeriod, token).ConfigureAwait(false);
                // A round that hangs (an unreachable table) must not stop the next one.
                using var round = CancellationTokenSource.CreateLinkedTokenSource(token);
                round.CancelAfter(_options.DeathTimeout);
                if (!await _table.HeartbeatAsync(Self, round.Token).ConfigureAwait(false))
                {
                    _log.LogError("silo {Silo} was declared dead by the cluster; it stops serving", Self);
                    Fenced?.Invoke();
                    return;
                }
                await _table.DeclareDeadAsync(_options.DeathTimeout, round.Token).ConfigureAwait(false);
                await RefreshAsync(round.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                // The table may be briefly unreachable (silo 0 restarting, a database failover); keep trying.
                _log.LogWarning("membership round failed: {Message}", e.Message);
            }
        }
    }

    public async Task RefreshAsync(CancellationToken cancellation)
    {
        var silos = await _table.ReadSilosAsync(cancellation).ConfigureAwait(false);
        var previous = View;
        var next = new ClusterView(silos, Interlocked.Increment(ref _version));
        View = next;
        var lost = previous.Active.Select(s => s.Address).Where(a => !next.IsActive(a)).ToList();
        if (lost.Count > 0) SilosLost?.Invoke(lost);
    }

    /// <summary>Stops heartbeating; with <paramref name="leave"/> the silo is marked Left (graceful), without
    /// it the silo just goes silent (as if killed).</summary>
    public async Task StopAsync(bool leave)
    {
        _stop.Cancel();
        await _loop.ConfigureAwait(false);
        if (leave && Self is not null)
            await _table.LeaveAsync(Self, CancellationToken.None).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested) await StopAsync(leave: false).ConfigureAwait(false);
        _stop.Dispose();
    }
}
