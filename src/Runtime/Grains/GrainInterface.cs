using System.Collections.Concurrent;
using System.Reflection;

namespace Cluster.Runtime;

/// <summary>The callable shape of a grain interface: its name on the wire and its methods by name.
/// Built once per interface by reflection; rejects what cannot travel (overloads, out/ref, non-Task returns).</summary>
public sealed class GrainInterface
{
    static readonly ConcurrentDictionary<Type, GrainInterface> Cache = new();

    public Type Type { get; }
    public string Name { get; }
    public IReadOnlyDictionary<string, GrainMethod> Methods { get; }
    internal IReadOnlyDictionary<MethodInfo, GrainMethod> ByMethodInfo { get; }

    GrainInterface(Type type)
    {
        Type = type;
        Name = NameOf(type);
        var methods = new[] { type }.Concat(type.GetInterfaces())
            .Where(i => i != typeof(IGrain) && i != typeof(IGrainWithStringKey) && i != typeof(IGrainWithIntegerKey))
            .SelectMany(i => i.GetMethods())
            .ToList();
        var byName = new Dictionary<string, GrainMethod>(StringComparer.Ordinal);
        var byInfo = new Dictionary<MethodInfo, GrainMethod>();
        foreach (var info in methods)
        {
            var method = new GrainMethod(this, info);
            if (!byName.TryAdd(info.Name, method))
                throw new GrainInterfaceException($"{Name}.{info.Name} is overloaded; grain methods are called by name, so give each overload its own name");
            byInfo[info] = method;
        }
        Methods = byName;
        ByMethodInfo = byInfo;
    }

    public static GrainInterface Of(Type type)
    {
        if (!type.IsInterface || !typeof(IGrain).IsAssignableFrom(type))
            throw new GrainInterfaceException($"{type.FullName} is not a grain interface (an interface deriving from IGrainWithStringKey or IGrainWithIntegerKey)");
        return Cache.GetOrAdd(type, t => new GrainInterface(t));
    }

    /// <summary>The wire name: the full name without generic noise.</summary>
    public static string NameOf(Type type) => type.FullName ?? type.Name;
}

/// <summary>Thrown when a grain interface or class cannot be used as one.</summary>
public sealed class GrainInterfaceException(string message) : Exception(message);
