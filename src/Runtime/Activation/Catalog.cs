using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Cluster.Runtime.Diagnostics;
using Cluster.Runtime.Membership;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cluster.Runtime.Activation;

/// <summary>The activations a silo holds: creates one on the first call (after winning the grain's
/// directory entry), pins device-placed grains to a free local device, collects idle ones, and
/// deactivates everything on shutdown.</summary>
internal sealed class Catalog : IAsyncDisposable
{
    readonly ConcurrentDictionary<GrainId, GrainActivation> _activations = new();
    readonly HashSet<string> _devicesInUse = [];
    readonly GrainRegistry _registry;
    readonly IClusterMembership _directory;
    readonly IServiceProvider _services;
    readonly SiloOptions _options;
    readonly Timer _collector;
    volatile bool _closed;

    readonly SiloMetrics _metrics;

    public Catalog(SiloOptions options, GrainRegistry registry, IClusterMembership directory, IServiceProvider services, SiloMetrics metrics, ILogger log)
    {
        (_options, _registry, _directory, _services, _metrics, Log) = (options, registry, directory, services, metrics, log);
        _collector = new Timer(_ => CollectIdle(), null, options.CollectionPeriod, options.CollectionPeriod);
    }

    public ILogger Log { get; }
    public SiloAddress Silo { get; set; } = null!;
    public IGrainFactory Factory { get; set; } = null!;

    public int Count => _activations.Count;

    /// <summary>Live activations by grain type, for metrics.</summary>
    public IReadOnlyDictionary<string, int> CountByType() =>
        _activations.Values.Where(a => a.IsValid).GroupBy(a => a.Id.Type).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>Runs a call on this silo's activation of <paramref name="grain"/>, activating it here if
    /// needed. Throws <see cref="GrainMovedException"/> when the directory gives the grain to another silo.</summary>
    public async Task<object?> InvokeAsync(GrainId grain, GrainMethod method, object?[] args, CancellationToken cancellation)
    {
        var started = Stopwatch.GetTimestamp();
        var failed = true;
        var moved = false;
        try
        {
            while (true)
            {
                var activation = GetOrCreate(grain);
                if (activation.TryEnqueue(() => method.InvokeOn(activation.Instance, args, cancellation), isCall: true, out var done))
                {
                    var result = await done.WaitAsync(cancellation).ConfigureAwait(false);
                    failed = false;
                    return result;
                }
                await activation.Deactivated.WaitAsync(cancellation).ConfigureAwait(false);
                // A failed activation's reason is this call's answer too; retrying here would fail the same way.
                if (activation.Failure is { } failure) ExceptionDispatchInfo.Throw(failure);
            }
        }
        catch (GrainMovedException)
        {
            moved = true; // not a call this silo handled
            throw;
        }
        finally
        {
            if (!moved) _metrics.RecordCall(grain.Type, method.Name, Stopwatch.GetElapsedTime(started).TotalSeconds, failed);
        }
    }

    /// <summary>The grain's activation here, created synchronously on the first call so that calls queue in
    /// arrival order while it activates in the background.</summary>
    GrainActivation GetOrCreate(GrainId grain)
    {
        while (true)
        {
            if (_closed) throw new GrainMovedException(null, $"silo {Silo} is shutting down");
            if (_activations.TryGetValue(grain, out var existing)) return existing;
            var created = new GrainActivation(this, _registry.Get(grain.Type), grain);
            if (_activations.TryAdd(grain, created))
            {
                _ = ActivateAsync(created);
                return created;
            }
        }
    }

    async Task ActivateAsync(GrainActivation activation)
    {
        var grainClass = activation.Class;
        var grain = activation.Id;
        string? device = null;
        GrainLocation? registered = null;
        try
        {
            device = grainClass.Placement is DevicePlacementAttribute pinned ? ReserveDevice(pinned.Kind, grain) : null;
            var winner = await _directory.RegisterAsync(new GrainLocation(grain, Silo, device), CancellationToken.None).ConfigureAwait(false);
            if (winner is null)
                throw new GrainMovedException(null, $"{Silo} cannot take {grain}: it is not active in the directory, or device {device} is held by another grain");
            if (winner.Silo != Silo)
                throw new GrainMovedException(winner, $"{grain} is active on {winner.Silo}");
            registered = winner;
            var instance = (Grain)ActivatorUtilities.CreateInstance(_services, grainClass.Implementation);
            await activation.ActivateAsync(instance, device, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            if (e is not GrainMovedException) Log.LogWarning(e, "activating {Grain} failed", grain);
            if (registered is not null) await UnregisterQuietly(registered).ConfigureAwait(false);
            if (device is not null) ReleaseDevice(device);
            _activations.TryRemove(new(grain, activation));
            activation.FailActivation(e);
        }
    }

    string ReserveDevice(string? kind, GrainId grain)
    {
        lock (_devicesInUse)
        {
            foreach (var device in _options.Devices)
                if ((kind is null || DeviceKind(device) == kind) && _devicesInUse.Add(device))
                    return device;
        }
        throw new GrainMovedException(null, $"silo {Silo} has no free {kind ?? "any"} device for {grain} (devices: {string.Join(",", _options.Devices)})");
    }

    void ReleaseDevice(string device)
    {
        lock (_devicesInUse) _devicesInUse.Remove(device);
    }

    public static string DeviceKind(string device) => device.Split(':')[0];

    public async Task DeactivateAsync(GrainActivation activation, DeactivationReason reason)
    {
        try
        {
            if (!await activation.DeactivateAsync(reason, CancellationToken.None).ConfigureAwait(false)) return;
        }
        catch (Exception e)
        {
            Log.LogWarning(e, "OnDeactivateAsync of {Grain} threw", activation.Id);
        }
        await UnregisterQuietly(new GrainLocation(activation.Id, Silo, activation.Device)).ConfigureAwait(false);
        _activations.TryRemove(activation.Id, out _);
        if (activation.Device is not null) ReleaseDevice(activation.Device);
        activation.CompleteDeactivation();
    }

    async Task UnregisterQuietly(GrainLocation location)
    {
        try { await _directory.UnregisterAsync(location, CancellationToken.None).ConfigureAwait(false); }
        catch (Exception e) { Log.LogWarning(e, "could not remove {Grain} from the directory", location.Grain); }
    }

    void CollectIdle()
    {
        if (_closed) return;
        foreach (var activation in _activations.Values)
        {
            if (activation.IsIdleFor(activation.Class.CollectionAge ?? _options.CollectionAge))
                _ = DeactivateAsync(activation, DeactivationReason.IdleTimeout);
        }
    }

    /// <summary>Graceful: refuses new activations and deactivates every live one.</summary>
    public async Task DeactivateAllAsync()
    {
        _closed = true;
        var live = _activations.Values.ToList();
        // Activations still starting finish first (bounded), so they too get OnDeactivateAsync.
        await Task.WhenAny(Task.WhenAll(live.Select(a => a.Settled)), Task.Delay(_options.CallTimeout)).ConfigureAwait(false);
        await Task.WhenAll(live.Select(a => DeactivateAsync(a, DeactivationReason.SiloShutdown))).ConfigureAwait(false);
    }

    /// <summary>A killed silo: drops everything without running grain code or touching the directory.</summary>
    public void Abandon()
    {
        _closed = true;
        foreach (var activation in _activations.Values) activation.Abandon();
        _activations.Clear();
    }

    public async ValueTask DisposeAsync() => await _collector.DisposeAsync().ConfigureAwait(false);
}

/// <summary>The grain's activation is not (or can no longer be) on this silo: <see cref="Owner"/> says where
/// it is, or null when the caller should place it again.</summary>
internal sealed class GrainMovedException(GrainLocation? owner, string message) : Exception(message)
{
    public GrainLocation? Owner { get; } = owner;
}
