using System.Reflection;

namespace Cluster.Runtime;

/// <summary>The object behind a grain reference: every interface call becomes an invocation
/// through the owner's <see cref="IGrainCallInvoker"/>. Grain code never sees method-name strings.</summary>
public class GrainProxy : DispatchProxy
{
    IGrainCallInvoker _invoker = null!;
    GrainInterface _interface = null!;
    GrainId _grain;

    internal static TGrain Create<TGrain>(IGrainCallInvoker invoker, string key)
    {
        var proxy = Create<TGrain, GrainProxy>();
        var self = (GrainProxy)(object)proxy!;
        self._invoker = invoker;
        self._interface = GrainInterface.Of(typeof(TGrain));
        self._grain = new GrainId(self._interface.Name, key);
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        if (targetMethod is null) throw new ArgumentNullException(nameof(targetMethod));
        if (!_interface.ByMethodInfo.TryGetValue(targetMethod, out var method))
            throw new GrainInterfaceException($"{targetMethod.DeclaringType?.FullName}.{targetMethod.Name} is not a method of {_interface.Name}");
        return method.ProxyCall(_invoker, _grain, args);
    }

    public override string ToString() => _grain.ToString();
}

/// <summary>Grain references made through an invoker.</summary>
public sealed class GrainFactory(IGrainCallInvoker invoker) : IGrainFactory
{
    public TGrain GetGrain<TGrain>(string key) where TGrain : IGrainWithStringKey
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return GrainProxy.Create<TGrain>(invoker, key);
    }

    public TGrain GetGrain<TGrain>(long key) where TGrain : IGrainWithIntegerKey =>
        GrainProxy.Create<TGrain>(invoker, key.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
