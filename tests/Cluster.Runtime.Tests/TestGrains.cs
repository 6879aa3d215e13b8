using System.Collections.Concurrent;

namespace Cluster.Runtime.Tests;

/// <summary>A value with a binary part, to check records carry byte[] as segments.</summary>
public sealed record Blob(string Name, byte[] Data, int[] Shape);

public interface IEchoGrain : IGrainWithStringKey
{
    Task<string> WhereAmI();
    Task<byte[]> Reverse(byte[] data);
    Task<Blob> Rename(Blob blob, string name);
    ValueTask<int> Length(ReadOnlyMemory<byte> data);
    Task Fail(string message);
    /// <summary>Never answers until cancelled; reports the cancellation.</summary>
    Task Hang(CancellationToken cancellation);
    Task<string> CallOther(string key);
}

public sealed class EchoGrain : Grain, IEchoGrain
{
    public static readonly ConcurrentDictionary<string, int> Activations = new();
    public static readonly ConcurrentDictionary<string, TaskCompletionSource> Hanging = new();
    public static readonly ConcurrentDictionary<string, bool> SawCancellation = new();
    public static readonly ConcurrentDictionary<string, DeactivationReason> Deactivations = new();

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellation)
    {
        Deactivations[GrainKey] = reason;
        return Task.CompletedTask;
    }

    public override Task OnActivateAsync(CancellationToken cancellation)
    {
        Activations.AddOrUpdate(GrainKey, 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }

    public Task<string> WhereAmI() => Task.FromResult(Silo.ToString());
    public Task<byte[]> Reverse(byte[] data) => Task.FromResult(data.Reverse().ToArray());
    public Task<Blob> Rename(Blob blob, string name) => Task.FromResult(blob with { Name = name });
    public ValueTask<int> Length(ReadOnlyMemory<byte> data) => ValueTask.FromResult(data.Length);
    public Task Fail(string message) => throw new InvalidOperationException(message);

    public async Task Hang(CancellationToken cancellation)
    {
        Hanging.GetOrAdd(GrainKey, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        try { await Task.Delay(Timeout.Infinite, cancellation); }
        catch (OperationCanceledException) { SawCancellation[GrainKey] = true; throw; }
    }

    public Task<string> CallOther(string key) => GrainFactory.GetGrain<IEchoGrain>(key).WhereAmI();
}

public interface ISequenceGrain : IGrainWithStringKey
{
    Task Append(int value);
    Task<int[]> Values();
    Task<int> MaxConcurrency();
}

public interface ILocalSequenceGrain : ISequenceGrain;

/// <summary>Non-reentrant: each Append yields twice mid-call, so overlapping calls would show.</summary>
public class SequenceGrain : Grain, ISequenceGrain
{
    readonly List<int> _values = [];
    int _inside, _max;

    public async Task Append(int value)
    {
        _max = Math.Max(_max, Interlocked.Increment(ref _inside));
        await Task.Yield();
        _values.Add(value);
        await Task.Delay(1);
        Interlocked.Decrement(ref _inside);
    }

    public Task<int[]> Values() => Task.FromResult(_values.ToArray());
    public Task<int> MaxConcurrency() => Task.FromResult(_max);
}

/// <summary>Shared by a test and its grain: calls enter, wait on <see cref="Release"/>, and exit.</summary>
public sealed class Gate
{
    public readonly TaskCompletionSource Release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public readonly ConcurrentQueue<string> Events = new();
    public int Inside;
    public int MaxInside;
    public int Running;
    public int MaxRunningAtOnce;

    public static readonly ConcurrentDictionary<string, Gate> ByKey = new();

    public async Task<int> PassAsync(string who)
    {
        // A turn is synchronous up to its first await: count how many run at the same instant.
        var running = Interlocked.Increment(ref Running);
        InterlockedMax(ref MaxRunningAtOnce, running);
        Thread.SpinWait(10_000);
        Interlocked.Decrement(ref Running);

        Events.Enqueue("enter " + who);
        InterlockedMax(ref MaxInside, Interlocked.Increment(ref Inside));
        await Release.Task;
        Interlocked.Decrement(ref Inside);
        Events.Enqueue("exit " + who);
        return MaxInside;
    }

    static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current) { }
    }
}

[PreferLocalPlacement]
public sealed class LocalSequenceGrain : SequenceGrain, ILocalSequenceGrain;

public interface IGateGrain : IGrainWithStringKey
{
    Task<int> Pass(string who);
}

public sealed class GateGrain : Grain, IGateGrain
{
    public Task<int> Pass(string who) => Gate.ByKey[GrainKey].PassAsync(who);
}

public interface IReentrantGateGrain : IGrainWithStringKey
{
    Task<int> Pass(string who);
}

[Reentrant]
public sealed class ReentrantGateGrain : Grain, IReentrantGateGrain
{
    public Task<int> Pass(string who) => Gate.ByKey[GrainKey].PassAsync(who);
}

public interface IIdleGrain : IGrainWithStringKey
{
    Task<int> Generation();
    Task Retire();
}

/// <summary>Deactivated after half a second without calls; counts its lives.</summary>
[CollectionAge(0.5)]
public sealed class IdleGrain : Grain, IIdleGrain
{
    public static readonly ConcurrentDictionary<string, int> Activated = new();
    public static readonly ConcurrentDictionary<string, List<DeactivationReason>> Deactivated = new();

    int _generation;

    public override Task OnActivateAsync(CancellationToken cancellation)
    {
        _generation = Activated.AddOrUpdate(GrainKey, 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellation)
    {
        var list = Deactivated.GetOrAdd(GrainKey, _ => []);
        lock (list) list.Add(reason);
        return Task.CompletedTask;
    }

    public Task<int> Generation() => Task.FromResult(_generation);

    public Task Retire()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}

public interface ITimerGrain : IGrainWithStringKey
{
    Task Start(int periodMilliseconds);
    Task<int> Ticks();
    Task<bool> Overlapped();
    Task Busy();
}

public sealed class TimerGrain : Grain, ITimerGrain
{
    int _ticks;
    bool _inCall, _overlapped;

    public Task Start(int periodMilliseconds)
    {
        RegisterTimer(_ =>
        {
            if (_inCall) _overlapped = true;
            _ticks++;
            return Task.CompletedTask;
        }, TimeSpan.Zero, TimeSpan.FromMilliseconds(periodMilliseconds));
        return Task.CompletedTask;
    }

    public Task<int> Ticks() => Task.FromResult(_ticks);
    public Task<bool> Overlapped() => Task.FromResult(_overlapped);

    /// <summary>A call that spans several timer periods; ticks must wait for it.</summary>
    public async Task Busy()
    {
        _inCall = true;
        var start = _ticks;
        for (var i = 0; i < 20; i++) await Task.Delay(5);
        if (_ticks != start) _overlapped = true;
        _inCall = false;
    }
}

public interface ITallyGrain : IGrainWithIntegerKey
{
    Task<int> Add(long callId);
    Task<long[]> Seen();
}

public sealed class TallyGrain : Grain, ITallyGrain
{
    readonly List<long> _seen = [];

    public Task<int> Add(long callId)
    {
        _seen.Add(callId);
        return Task.FromResult(_seen.Count);
    }

    public Task<long[]> Seen() => Task.FromResult(_seen.ToArray());
}

public interface IWorkerGrain : IGrainWithStringKey
{
    Task<string> Placement();
    Task Retire();
}

[DevicePlacement("cuda")]
public sealed class WorkerGrain : Grain, IWorkerGrain
{
    public Task<string> Placement() => Task.FromResult($"{Silo}|{Device}");

    public Task Retire()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}

public interface ILocalGrain : IGrainWithStringKey
{
    Task<string> WhereAmI();
}

[PreferLocalPlacement]
public sealed class LocalGrain : Grain, ILocalGrain
{
    public Task<string> WhereAmI() => Task.FromResult(Silo.ToString());
}

public interface IHashedGrain : IGrainWithStringKey
{
    Task<string> WhereAmI();
}

[HashBasedPlacement]
public sealed class HashedGrain : Grain, IHashedGrain
{
    public Task<string> WhereAmI() => Task.FromResult(Silo.ToString());
}

public interface IPlacerGrain : IGrainWithStringKey
{
    /// <summary>Activates a prefer-local grain from this grain's silo; returns (mine, its).</summary>
    Task<string[]> PlaceLocal(string key);
}

public sealed class PlacerGrain : Grain, IPlacerGrain
{
    public async Task<string[]> PlaceLocal(string key) =>
        [Silo.ToString(), await GrainFactory.GetGrain<ILocalGrain>(key).WhereAmI()];
}

public static class TestGrains
{
    public static void Register(GrainRegistry registry) => registry.AddAssembly(typeof(TestGrains).Assembly);
}
