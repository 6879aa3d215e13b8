namespace Cluster.Runtime.Membership;

/// <summary>Membership and directory in one process's memory: the single-machine default, the table that
/// development mode's silo 0 serves to the others, and the reference the other implementations match.</summary>
public sealed class InMemoryMembership(TimeProvider? clock = null) : IClusterMembership
{
    readonly TimeProvider _clock = clock ?? TimeProvider.System;
    readonly object _gate = new();
    readonly Dictionary<SiloAddress, SiloEntry> _silos = [];
    readonly Dictionary<GrainId, GrainLocation> _grains = [];

    public Task JoinAsync(SiloEntry self, CancellationToken cancellation)
    {
        lock (_gate)
            _silos[self.Address] = self with { Status = SiloStatus.Active, LastHeartbeat = _clock.GetUtcNow() };
        return Task.CompletedTask;
    }

    public Task<bool> HeartbeatAsync(SiloAddress self, CancellationToken cancellation)
    {
        lock (_gate)
        {
            if (!_silos.TryGetValue(self, out var entry) || entry.Status != SiloStatus.Active) return Task.FromResult(false);
            _silos[self] = entry with { LastHeartbeat = _clock.GetUtcNow() };
            return Task.FromResult(true);
        }
    }

    public Task LeaveAsync(SiloAddress self, CancellationToken cancellation)
    {
        lock (_gate)
        {
            if (_silos.TryGetValue(self, out var entry)) _silos[self] = entry with { Status = SiloStatus.Left };
            DropGrainsOf(self);
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<SiloEntry>> ReadSilosAsync(CancellationToken cancellation)
    {
        lock (_gate) return Task.FromResult<IReadOnlyList<SiloEntry>>(_silos.Values.ToList());
    }

    public Task<IReadOnlyList<SiloAddress>> DeclareDeadAsync(TimeSpan missedFor, CancellationToken cancellation)
    {
        lock (_gate)
        {
            var cutoff = _clock.GetUtcNow() - missedFor;
            var dead = _silos.Values.Where(s => s.Status == SiloStatus.Active && s.LastHeartbeat < cutoff).Select(s => s.Address).ToList();
            foreach (var address in dead)
            {
                _silos[address] = _silos[address] with { Status = SiloStatus.Dead };
                DropGrainsOf(address);
            }
            return Task.FromResult<IReadOnlyList<SiloAddress>>(dead);
        }
    }

    void DropGrainsOf(SiloAddress silo)
    {
        foreach (var grain in _grains.Where(g => g.Value.Silo == silo).Select(g => g.Key).ToList())
            _grains.Remove(grain);
    }

    bool IsActive(SiloAddress silo) => _silos.TryGetValue(silo, out var s) && s.Status == SiloStatus.Active;

    public Task<GrainLocation?> LookupAsync(GrainId grain, CancellationToken cancellation)
    {
        lock (_gate)
            return Task.FromResult(_grains.TryGetValue(grain, out var l) && IsActive(l.Silo) ? l : null);
    }

    public Task<GrainLocation?> RegisterAsync(GrainLocation proposed, CancellationToken cancellation)
    {
        lock (_gate)
        {
            if (_grains.TryGetValue(proposed.Grain, out var existing) && IsActive(existing.Silo))
                return Task.FromResult<GrainLocation?>(existing);
            if (!IsActive(proposed.Silo))
                return Task.FromResult<GrainLocation?>(null);
            if (proposed.Device is not null && _grains.Values.Any(g => g.Silo == proposed.Silo && g.Device == proposed.Device))
                return Task.FromResult<GrainLocation?>(null);
            _grains[proposed.Grain] = proposed;
            return Task.FromResult<GrainLocation?>(proposed);
        }
    }

    public Task UnregisterAsync(GrainLocation location, CancellationToken cancellation)
    {
        lock (_gate)
            if (_grains.TryGetValue(location.Grain, out var existing) && existing.Silo == location.Silo)
                _grains.Remove(location.Grain);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<GrainLocation>> ListPinnedAsync(CancellationToken cancellation)
    {
        lock (_gate) return Task.FromResult<IReadOnlyList<GrainLocation>>(_grains.Values.Where(g => g.Device is not null).ToList());
    }
}
