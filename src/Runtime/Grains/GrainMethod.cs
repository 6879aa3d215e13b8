using System.Reflection;

namespace Cluster.Runtime;

/// <summary>One grain method: how its arguments and result travel, how a proxy turns a call into an
/// invocation, and how the hosting silo runs it on the grain object.</summary>
public sealed class GrainMethod
{
    enum ReturnKind { Task, TaskOfT, ValueTask, ValueTaskOfT }

    readonly ReturnKind _kind;
    readonly Func<IGrainCallInvoker, GrainId, GrainMethod, object?[], CancellationToken, object> _proxyCall;
    readonly Func<object, Task<object?>> _awaitResult;

    public GrainInterface Interface { get; }
    public MethodInfo Info { get; }
    public string Name => Info.Name;
    /// <summary>The types of the arguments that travel (the CancellationToken, if any, does not).</summary>
    public Type[] ParameterTypes { get; }
    /// <summary>Index of the CancellationToken parameter, or -1.</summary>
    public int CancellationTokenIndex { get; }
    /// <summary>The result's type, or null for Task/ValueTask.</summary>
    public Type? ResultType { get; }

    internal GrainMethod(GrainInterface owner, MethodInfo info)
    {
        Interface = owner;
        Info = info;
        var where = $"{owner.Name}.{info.Name}";
        var parameters = info.GetParameters();
        CancellationTokenIndex = -1;
        for (var i = 0; i < parameters.Length; i++)
        {
            if (parameters[i].ParameterType.IsByRef)
                throw new GrainInterfaceException($"{where}: parameter '{parameters[i].Name}' is ref/out; grain arguments travel by value");
            if (parameters[i].ParameterType == typeof(CancellationToken))
            {
                if (i != parameters.Length - 1)
                    throw new GrainInterfaceException($"{where}: a CancellationToken parameter must come last");
                CancellationTokenIndex = i;
            }
        }
        ParameterTypes = parameters.Where(p => p.ParameterType != typeof(CancellationToken)).Select(p => p.ParameterType).ToArray();

        var returnType = info.ReturnType;
        var generic = returnType.IsGenericType ? returnType.GetGenericTypeDefinition() : null;
        (_kind, ResultType) = returnType == typeof(Task) ? (ReturnKind.Task, null)
            : returnType == typeof(ValueTask) ? (ReturnKind.ValueTask, null)
            : generic == typeof(Task<>) ? (ReturnKind.TaskOfT, returnType.GetGenericArguments()[0])
            : generic == typeof(ValueTask<>) ? (ReturnKind.ValueTaskOfT, returnType.GetGenericArguments()[0])
            : throw new GrainInterfaceException($"{where} returns {returnType.Name}; grain methods return Task, Task<T>, ValueTask or ValueTask<T>");

        var helpers = typeof(GrainMethod);
        (_proxyCall, _awaitResult) = _kind switch
        {
            ReturnKind.Task => (ProxyTask, AwaitTask),
            ReturnKind.ValueTask => (ProxyValueTask, AwaitValueTask),
            ReturnKind.TaskOfT => (
                Delegate<Func<IGrainCallInvoker, GrainId, GrainMethod, object?[], CancellationToken, object>>(nameof(ProxyTaskOf)),
                Delegate<Func<object, Task<object?>>>(nameof(AwaitTaskOf))),
            _ => (
                Delegate<Func<IGrainCallInvoker, GrainId, GrainMethod, object?[], CancellationToken, object>>(nameof(ProxyValueTaskOf)),
                Delegate<Func<object, Task<object?>>>(nameof(AwaitValueTaskOf))),
        };
    }

    TDelegate Delegate<TDelegate>(string name) where TDelegate : Delegate =>
        typeof(GrainMethod).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(ResultType!).CreateDelegate<TDelegate>();

    /// <summary>Splits a proxy's argument array into what travels and the caller's token.</summary>
    internal (object?[] Args, CancellationToken Token) SplitArguments(object?[]? all)
    {
        all ??= [];
        if (CancellationTokenIndex < 0) return (all, default);
        var token = (CancellationToken)all[CancellationTokenIndex]!;
        var args = new object?[all.Length - 1];
        Array.Copy(all, args, args.Length);
        return (args, token);
    }

    /// <summary>What a proxy returns for a call: a Task/ValueTask of the method's declared type.</summary>
    internal object ProxyCall(IGrainCallInvoker invoker, GrainId grain, object?[]? all)
    {
        var (args, token) = SplitArguments(all);
        return _proxyCall(invoker, grain, this, args, token);
    }

    /// <summary>Runs the method on a grain object and awaits its result, boxed.</summary>
    internal Task<object?> InvokeOn(object grain, object?[] args, CancellationToken token)
    {
        object?[] all = args;
        if (CancellationTokenIndex >= 0)
        {
            all = new object?[args.Length + 1];
            Array.Copy(args, all, args.Length);
            all[CancellationTokenIndex] = token;
        }
        object returned;
        try { returned = Info.Invoke(grain, all)!; }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            return Task.FromException<object?>(e.InnerException);
        }
        return _awaitResult(returned);
    }

    static object ProxyTask(IGrainCallInvoker i, GrainId g, GrainMethod m, object?[] a, CancellationToken t) => i.InvokeAsync(g, m, a, t);
    static object ProxyValueTask(IGrainCallInvoker i, GrainId g, GrainMethod m, object?[] a, CancellationToken t) => new ValueTask(i.InvokeAsync(g, m, a, t));
    static object ProxyTaskOf<T>(IGrainCallInvoker i, GrainId g, GrainMethod m, object?[] a, CancellationToken t) => Cast<T>(i.InvokeAsync(g, m, a, t));
    static object ProxyValueTaskOf<T>(IGrainCallInvoker i, GrainId g, GrainMethod m, object?[] a, CancellationToken t) => new ValueTask<T>(Cast<T>(i.InvokeAsync(g, m, a, t)));
    static async Task<T> Cast<T>(Task<object?> call) => (T)(await call.ConfigureAwait(false))!;

    static async Task<object?> AwaitTask(object task) { await (Task)task; return null; }
    static async Task<object?> AwaitValueTask(object task) { await (ValueTask)task; return null; }
    static async Task<object?> AwaitTaskOf<T>(object task) => await (Task<T>)task;
    static async Task<object?> AwaitValueTaskOf<T>(object task) => await (ValueTask<T>)task;
}

/// <summary>Carries a call to a grain wherever its activation is (a silo's runtime, or a client's gateway connection).</summary>
public interface IGrainCallInvoker
{
    Task<object?> InvokeAsync(GrainId grain, GrainMethod method, object?[] args, CancellationToken cancellation);
}
