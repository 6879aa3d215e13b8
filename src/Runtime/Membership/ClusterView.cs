namespace Cluster.Runtime.Membership;

/// <summary>One silo's latest reading of the membership table.</summary>
public sealed class ClusterView
{
    public static readonly ClusterView Empty = new([], 0);

    public ClusterView(IReadOnlyList<SiloEntry> silos, long version)
    {
        Silos = silos;
        Version = version;
        Active = silos.Where(s => s.Status == SiloStatus.Active).OrderBy(s => s.Address.ToString(), StringComparer.Ordinal).ToList();
        _active = Active.Select(s => s.Address).ToHashSet();
    }

    readonly HashSet<SiloAddress> _active;

    public IReadOnlyList<SiloEntry> Silos { get; }
    /// <summary>Active silos in a stable order (hash placement depends on it).</summary>
    public IReadOnlyList<SiloEntry> Active { get; }
    public long Version { get; }

    public bool IsActive(SiloAddress silo) => _active.Contains(silo);
}
