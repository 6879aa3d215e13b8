using System.Collections.Concurrent;
using Cluster.Runtime.Activation;
using Cluster.Runtime.Membership;
using Cluster.Runtime.Messaging;
using Cluster.Runtime.Placement;

namespace Cluster.Runtime.Hosting;

/// <summary>Routes a call from this silo (a grain's call, or a client's through the gateway) to the
/// grain's activation: the local catalog, or another silo over HTTP/2. Locations come from a local
/// cache, then the directory, then placement; a silo that answers "moved" corrects the cache.</summary>
internal sealed class SiloRuntime(
    SiloOptions options,
    GrainRegistry registry,
    Catalog catalog,
    IClusterMembership directory,
    MembershipAgent membership,
    SiloConnections connections) : IGrainCallInvoker
{
    const int MaxAttempts = 5;
    readonly ConcurrentDictionary<GrainId, GrainLocation> _cache = new();
    readonly ConcurrentDictionary<GrainId, Task<GrainLocation>> _lookups = new();
    readonly PlacementDirector _placement = new(directory);

    public SiloAddress Self { get; set; } = null!;

    public Task<object?> InvokeAsync(GrainId grain, GrainMethod method, object?[] args, CancellationToken cancellation) =>
        CallDeadline.RunAsync(grain, method, options.CallTimeout, cancellation, token => RouteAsync(grain, method, args, token));

    async Task<object?> RouteAsync(GrainId grain, GrainMethod method, object?[] args, CancellationToken cancellation)
    {
        var grainClass = registry.Get(grain.Type);
        OutgoingMessage? message = null;
        GrainMovedException? lastMove = null;
        HashSet<SiloAddress>? refused = null;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var location = refused is null
                ? await LocateAsync(grainClass, grain, cancellation).ConfigureAwait(false)
                : await LookUpOnceAsync(grainClass, grain, refused).WaitAsync(cancellation).ConfigureAwait(false);
            try
            {
                object? result;
                if (location.Silo == Self)
                    result = await catalog.InvokeAsync(grain, method, args, cancellation).WaitAsync(cancellation).ConfigureAwait(false);
                else
                {
                    message ??= OutgoingMessage.Call(grain, method, args);
                    result = await connections.InvokeAsync(location.Silo, grain, method, message, cancellation).ConfigureAwait(false);
                }
                _cache.TryAdd(grain, location);
                return result;
            }
            catch (GrainMovedException moved)
            {
                lastMove = moved;
                _cache.TryRemove(grain, out _);
                if (moved.Owner is { } owner && membership.View.IsActive(owner.Silo)) _cache[grain] = owner;
                else
                {
                    // Refused without an owner (shutting down, device taken): place elsewhere, after a short
                    // pause that lets a stopping silo's directory entries go.
                    (refused ??= []).Add(location.Silo);
                    await Task.Delay(TimeSpan.FromMilliseconds(20 << attempt), cancellation).ConfigureAwait(false);
                }
            }
            catch (SiloUnavailableException)
            {
                _cache.TryRemove(new(grain, location));
                throw;
            }
        }
        throw new SiloUnavailableException($"{grain} could not be placed after {MaxAttempts} attempts: {lastMove?.Message}");
    }

    Task<GrainLocation> LocateAsync(GrainClass grainClass, GrainId grain, CancellationToken cancellation)
    {
        var view = membership.View;
        if (_cache.TryGetValue(grain, out var cached) && view.IsActive(cached.Silo)) return Task.FromResult(cached);
        // One directory lookup per grain at a time: a burst of first calls to a grain must not become a
        // burst of requests to the directory (in development mode, to silo 0).
        var lookup = _lookups.GetOrAdd(grain, g => LookUpOnceAsync(grainClass, g, NoSilos));
        // Whichever task won the entry removes exactly itself once done, so the next miss looks up afresh.
        lookup.ContinueWith(t => _lookups.TryRemove(new(grain, t)), TaskScheduler.Default);
        return lookup.WaitAsync(cancellation);
    }

    static readonly IReadOnlySet<SiloAddress> NoSilos = new HashSet<SiloAddress>();

    /// <summary>The directory's entry for the grain, or a placement. Shared by concurrent callers, so it runs
    /// under its own deadline rather than any one caller's token.</summary>
    async Task<GrainLocation> LookUpOnceAsync(GrainClass grainClass, GrainId grain, IReadOnlySet<SiloAddress> avoid)
    {
        var view = membership.View;
        using var timeout = new CancellationTokenSource(options.CallTimeout);
        var registered = await directory.LookupAsync(grain, timeout.Token).ConfigureAwait(false);
        if (registered is not null && view.IsActive(registered.Silo)) return _cache[grain] = registered;
        var silo = await _placement.PickAsync(grainClass, grain, Self, view, avoid, timeout.Token).ConfigureAwait(false);
        return new GrainLocation(grain, silo, null);
    }

    /// <summary>Membership says these silos are gone: forget where their grains were and fail calls in flight to them.</summary>
    public void OnSilosLost(IReadOnlyList<SiloAddress> lost)
    {
        var gone = lost.ToHashSet();
        foreach (var entry in _cache)
            if (gone.Contains(entry.Value.Silo)) _cache.TryRemove(entry);
        foreach (var silo in lost) connections.MarkDead(silo);
    }
}
