using System.Threading.Channels;

namespace Cluster.Runtime.Activation;

/// <summary>One live grain: its object, its mailbox and its turns. Every turn (call, timer tick,
/// activate, deactivate) runs on this activation's exclusive scheduler, so no two run in parallel.
/// A non-reentrant grain also finishes each call before the next starts (FIFO); a reentrant one
/// starts queued calls as they come, and they interleave at their awaits.</summary>
internal sealed class GrainActivation
{
    enum State { Activating, Valid, Deactivating, Invalid }

    sealed record Turn(Func<Task<object?>> Work, bool IsCall, TaskCompletionSource<object?> Done);

    readonly TaskScheduler _scheduler = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;
    readonly Channel<Turn> _mailbox = Channel.CreateUnbounded<Turn>(new UnboundedChannelOptions { SingleReader = true });
    readonly object _gate = new();
    readonly List<GrainTimer> _timers = [];
    readonly TaskCompletionSource _deactivated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly Catalog _catalog;
    State _state = State.Activating;
    int _pendingCalls;
    int _runningTurns;
    TaskCompletionSource? _turnsDrained;
    long _lastCallEndTicks = Environment.TickCount64;
    bool _deactivationRequested;
    Task _loop = Task.CompletedTask;

    public GrainActivation(Catalog catalog, GrainClass grainClass, GrainId id)
    {
        _catalog = catalog;
        Class = grainClass;
        Id = id;
    }

    public GrainClass Class { get; }
    public GrainId Id { get; }
    public string? Device { get; private set; }
    public Grain Instance { get; private set; } = null!;
    public IGrainFactory Factory => _catalog.Factory;
    public SiloAddress Silo => _catalog.Silo;
    public Task Deactivated => _deactivated.Task;
    /// <summary>Completes once activation has succeeded or failed.</summary>
    public Task Settled => _settled.Task;
    /// <summary>Why the activation failed, if it did (the grain belongs to another silo, OnActivateAsync threw).</summary>
    public Exception? Failure { get; private set; }
    public bool IsValid { get { lock (_gate) return _state == State.Valid; } }

    /// <summary>True when no call is queued or running and none has ended for <paramref name="age"/>.</summary>
    public bool IsIdleFor(TimeSpan age)
    {
        lock (_gate)
            return _state == State.Valid && _pendingCalls == 0 && Environment.TickCount64 - _lastCallEndTicks >= age.TotalMilliseconds;
    }

    /// <summary>Attaches the grain object, runs OnActivateAsync as the first turn, then opens the mailbox
    /// (calls that arrived meanwhile are already queued, in arrival order).</summary>
    public async Task ActivateAsync(Grain instance, string? device, CancellationToken cancellation)
    {
        Instance = instance;
        Device = device;
        instance.Attach(this);
        await RunOnScheduler(async () => { await instance.OnActivateAsync(cancellation); return null; }).ConfigureAwait(false);
        lock (_gate) _state = State.Valid;
        _loop = Task.Run(RunMailboxAsync);
        _settled.TrySetResult();
    }

    /// <summary>Queues a call or timer tick, also while activating; false when the activation is deactivating
    /// or gone (the caller then waits for <see cref="Deactivated"/> and activates afresh).</summary>
    public bool TryEnqueue(Func<Task<object?>> work, bool isCall, out Task<object?> done)
    {
        var turn = new Turn(work, isCall, new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_gate)
        {
            if (_state is not (State.Activating or State.Valid)) { done = Task.FromResult<object?>(null); return false; }
            if (isCall) _pendingCalls++;
            _mailbox.Writer.TryWrite(turn);
        }
        done = turn.Done.Task;
        return true;
    }

    async Task RunMailboxAsync()
    {
        await foreach (var turn in _mailbox.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            var running = RunTurnAsync(turn);
            if (!Class.Reentrant) await running.ConfigureAwait(false);
        }
        Task? drained = null;
        lock (_gate)
            if (_runningTurns > 0) drained = (_turnsDrained = new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        if (drained is not null) await drained.ConfigureAwait(false);
    }

    async Task RunTurnAsync(Turn turn)
    {
        lock (_gate) _runningTurns++;
        try { turn.Done.TrySetResult(await RunOnScheduler(turn.Work).ConfigureAwait(false)); }
        catch (Exception e) { turn.Done.TrySetException(e); }
        finally
        {
            bool deactivateNow;
            lock (_gate)
            {
                _runningTurns--;
                if (turn.IsCall) { _pendingCalls--; _lastCallEndTicks = Environment.TickCount64; }
                if (_runningTurns == 0) _turnsDrained?.TrySetResult();
                deactivateNow = _deactivationRequested && _pendingCalls == 0 && _state == State.Valid;
            }
            if (deactivateNow) _ = _catalog.DeactivateAsync(this, DeactivationReason.Requested);
        }
    }

    Task<object?> RunOnScheduler(Func<Task<object?>> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, _scheduler).Unwrap();

    public void RequestDeactivation()
    {
        lock (_gate) _deactivationRequested = true;
    }

    /// <summary>Stops taking calls, lets queued ones finish, runs OnDeactivateAsync as the last turn and
    /// stops the timers. False when another deactivation already began.</summary>
    public async Task<bool> DeactivateAsync(DeactivationReason reason, CancellationToken cancellation)
    {
        lock (_gate)
        {
            if (_state != State.Valid) return false;
            _state = State.Deactivating;
            _mailbox.Writer.TryComplete();
        }
        try
        {
            await _loop.ConfigureAwait(false);
            foreach (var timer in TakeTimers()) timer.Dispose();
            await RunOnScheduler(async () => { await Instance.OnDeactivateAsync(reason, cancellation); return null; }).ConfigureAwait(false);
        }
        finally
        {
            lock (_gate) _state = State.Invalid;
        }
        return true;
    }

    /// <summary>Marks the activation gone for callers waiting to re-activate it.</summary>
    public void CompleteDeactivation() => _deactivated.TrySetResult();

    /// <summary>Activation failed (or the grain belongs elsewhere): every queued call gets <paramref name="error"/>.</summary>
    public void FailActivation(Exception error)
    {
        Failure = error;
        lock (_gate)
        {
            _state = State.Invalid;
            _mailbox.Writer.TryComplete();
        }
        while (_mailbox.Reader.TryRead(out var turn)) turn.Done.TrySetException(error);
        _settled.TrySetResult();
        CompleteDeactivation();
    }

    /// <summary>For an activation abandoned by a killed or fenced silo: queued calls fail, timers stop, no grain code runs.</summary>
    public void Abandon()
    {
        foreach (var timer in TakeTimers()) timer.Dispose();
        FailActivation(new SiloUnavailableException($"silo {Silo} stopped serving {Id}"));
    }

    List<GrainTimer> TakeTimers()
    {
        lock (_gate)
        {
            var timers = _timers.ToList();
            _timers.Clear();
            return timers;
        }
    }

    public IDisposable RegisterTimer(Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new GrainTimer(this, callback, dueTime, period, _catalog.Log);
        lock (_gate)
        {
            if (_state is State.Deactivating or State.Invalid)
                throw new InvalidOperationException($"{Id} is deactivating; it cannot start a timer");
            _timers.Add(timer);
        }
        timer.Start();
        return timer;
    }
}
