using System.Reflection;

namespace Cluster.Runtime;

/// <summary>A registered grain implementation: the interface it is addressed by, its class, and what its
/// attributes say about reentrancy, idle age and placement.</summary>
public sealed class GrainClass
{
    public GrainInterface Interface { get; }
    public Type Implementation { get; }
    public bool Reentrant { get; }
    public TimeSpan? CollectionAge { get; }
    public PlacementAttribute Placement { get; }

    public GrainClass(Type grainInterface, Type implementation)
    {
        Interface = GrainInterface.Of(grainInterface);
        if (!implementation.IsClass || implementation.IsAbstract || !typeof(Grain).IsAssignableFrom(implementation) || !grainInterface.IsAssignableFrom(implementation))
            throw new GrainInterfaceException($"{implementation.FullName} must be a concrete class deriving from Grain and implementing {Interface.Name}");
        Implementation = implementation;
        Reentrant = implementation.GetCustomAttribute<ReentrantAttribute>() is not null;
        CollectionAge = implementation.GetCustomAttribute<CollectionAgeAttribute>()?.Age;
        var placements = implementation.GetCustomAttributes<PlacementAttribute>().ToList();
        if (placements.Count > 1)
            throw new GrainInterfaceException($"{implementation.FullName} has {placements.Count} placement attributes; use one");
        Placement = placements.FirstOrDefault() ?? new RandomPlacementAttribute();
    }

    public string Name => Interface.Name;
}

/// <summary>The grain classes a silo hosts, by interface name (the name calls carry).</summary>
public sealed class GrainRegistry
{
    readonly Dictionary<string, GrainClass> _byName = new(StringComparer.Ordinal);

    public GrainRegistry Add<TInterface, TGrain>() where TInterface : IGrain where TGrain : Grain, TInterface =>
        Add(typeof(TInterface), typeof(TGrain));

    public GrainRegistry Add(Type grainInterface, Type implementation)
    {
        var grainClass = new GrainClass(grainInterface, implementation);
        if (_byName.TryGetValue(grainClass.Name, out var existing) && existing.Implementation != implementation)
            throw new GrainInterfaceException($"{grainClass.Name} is implemented by both {existing.Implementation.FullName} and {implementation.FullName}; register one");
        _byName[grainClass.Name] = grainClass;
        return this;
    }

    /// <summary>Registers every concrete Grain class in <paramref name="assembly"/> under each grain interface it
    /// adds to its base class (a subclass that adds ISpecialGrain does not take over its base's IGrain).</summary>
    public GrainRegistry AddAssembly(Assembly assembly)
    {
        foreach (var type in assembly.GetTypes().Where(t => t.IsClass && !t.IsAbstract && typeof(Grain).IsAssignableFrom(t)))
        {
            var inherited = type.BaseType?.GetInterfaces() ?? [];
            foreach (var i in type.GetInterfaces().Except(inherited).Where(i => typeof(IGrain).IsAssignableFrom(i) && i != typeof(IGrain)
                         && i != typeof(IGrainWithStringKey) && i != typeof(IGrainWithIntegerKey) && !i.ContainsGenericParameters))
                Add(i, type);
        }
        return this;
    }

    public GrainClass Get(string name) => _byName.TryGetValue(name, out var c) ? c
        : throw new UnknownGrainException($"no grain type '{name}' is registered on this silo (registered: {string.Join(", ", _byName.Keys.Order())})");

    public IEnumerable<GrainClass> All => _byName.Values;

    public static GrainMethod Method(GrainClass grainClass, string name) =>
        grainClass.Interface.Methods.TryGetValue(name, out var m) ? m
            : throw new UnknownGrainException($"grain type '{grainClass.Name}' has no method '{name}'");
}
