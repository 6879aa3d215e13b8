namespace Cluster.Runtime;

/// <summary>Lets calls to this grain interleave at their awaits. Turns still never run in parallel:
/// every turn of an activation runs on that activation's exclusive scheduler.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class ReentrantAttribute : Attribute;

/// <summary>How long this grain may sit without calls before it is deactivated (overrides the silo's default).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class CollectionAgeAttribute(double seconds) : Attribute
{
    public TimeSpan Age { get; } = TimeSpan.FromSeconds(seconds);
}

/// <summary>Base of the placement attributes; a grain class carries at most one. The default is random.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public abstract class PlacementAttribute : Attribute;

/// <summary>Any active silo, uniformly.</summary>
public sealed class RandomPlacementAttribute : PlacementAttribute;

/// <summary>The calling silo (a client's call: the gateway silo it came through).</summary>
public sealed class PreferLocalPlacementAttribute : PlacementAttribute;

/// <summary>A silo chosen by a stable hash of the grain id over the active silos.</summary>
public sealed class HashBasedPlacementAttribute : PlacementAttribute;

/// <summary>A free device on some silo (one grain per device); the activation is pinned to it and
/// reads it from <see cref="Grain.Device"/>. <paramref name="kind"/> restricts the device kind
/// ("cuda", "cpu"); null takes any.</summary>
public sealed class DevicePlacementAttribute(string? kind = null) : PlacementAttribute
{
    public string? Kind { get; } = kind;
}
