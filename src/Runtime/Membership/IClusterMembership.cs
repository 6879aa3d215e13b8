namespace Cluster.Runtime.Membership;

public enum SiloStatus { Active, ShuttingDown, Left, Dead }

/// <summary>A row of the membership table. <see cref="LastHeartbeat"/> is the table's own clock.</summary>
public sealed record SiloEntry(
    SiloAddress Address,
    string Name,
    string Gateway,
    IReadOnlyList<string> Devices,
    SiloStatus Status,
    DateTimeOffset LastHeartbeat,
    int BulkPort = 0);

/// <summary>Membership (which silos are alive) and the grain directory (where each activation is).
/// One table holds both so that declaring a silo dead and dropping its grains is one step.
/// Implementations: <see cref="InMemoryMembership"/> (one process), <see cref="DevelopmentMembershipClient"/>
/// (silo 0 holds an in-memory table for the others), <see cref="PostgresMembership"/>.</summary>
public interface IClusterMembership
{
    Task JoinAsync(SiloEntry self, CancellationToken cancellation);

    /// <summary>Records that <paramref name="self"/> is alive; false when it has already been declared
    /// dead (or left), in which case the silo must stop serving.</summary>
    Task<bool> HeartbeatAsync(SiloAddress self, CancellationToken cancellation);

    /// <summary>Graceful exit: the silo is marked Left and its directory entries dropped.</summary>
    Task LeaveAsync(SiloAddress self, CancellationToken cancellation);

    Task<IReadOnlyList<SiloEntry>> ReadSilosAsync(CancellationToken cancellation);

    /// <summary>Declares dead every active silo whose last heartbeat is older than <paramref name="missedFor"/>
    /// (by the table's clock), drops their directory entries, and returns them.</summary>
    Task<IReadOnlyList<SiloAddress>> DeclareDeadAsync(TimeSpan missedFor, CancellationToken cancellation);

    /// <summary>The grain's location, if it is registered on an active silo.</summary>
    Task<GrainLocation?> LookupAsync(GrainId grain, CancellationToken cancellation);

    /// <summary>Registers <paramref name="proposed"/> unless the grain is already on an active silo; returns
    /// the entry that won, or null when the proposed device is held by another grain.</summary>
    Task<GrainLocation?> RegisterAsync(GrainLocation proposed, CancellationToken cancellation);

    /// <summary>Removes the entry if it still names this silo (and generation).</summary>
    Task UnregisterAsync(GrainLocation location, CancellationToken cancellation);

    /// <summary>Every entry pinned to a device, for device-aware placement.</summary>
    Task<IReadOnlyList<GrainLocation>> ListPinnedAsync(CancellationToken cancellation);
}
