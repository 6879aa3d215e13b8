using System.Globalization;
using Cluster.Runtime.Activation;

namespace Cluster.Runtime;

/// <summary>Why an activation ends.</summary>
public enum DeactivationReason { IdleTimeout, Requested, SiloShutdown }

/// <summary>Base of every grain class. Dependencies come through the constructor; identity, the
/// factory for other grains, the pinned device and timers come from the activation.</summary>
public abstract class Grain
{
    GrainActivation? _activation;

    internal GrainActivation Activation => _activation
        ?? throw new InvalidOperationException($"{GetType().Name} is used outside an activation; grains are created by the runtime");

    internal void Attach(GrainActivation activation) => _activation = activation;

    public GrainId GrainId => Activation.Id;
    public string GrainKey => Activation.Id.Key;
    public long GrainKeyAsLong => long.Parse(Activation.Id.Key, CultureInfo.InvariantCulture);
    public IGrainFactory GrainFactory => Activation.Factory;
    /// <summary>The silo this activation lives on.</summary>
    public SiloAddress Silo => Activation.Silo;
    /// <summary>The device this activation is pinned to (device placement), or null.</summary>
    public string? Device => Activation.Device;

    public virtual Task OnActivateAsync(CancellationToken cancellation) => Task.CompletedTask;
    public virtual Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellation) => Task.CompletedTask;

    /// <summary>Runs <paramref name="callback"/> as a turn of this activation (never alongside a call of a
    /// non-reentrant grain) after <paramref name="dueTime"/> and then every <paramref name="period"/>,
    /// measured from the end of the previous tick. Timers do not keep a grain from idle deactivation
    /// and stop with it. Dispose the result to stop earlier.</summary>
    protected IDisposable RegisterTimer(Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period) =>
        Activation.RegisterTimer(callback, dueTime, period);

    /// <summary>Deactivates this activation once the current call (and any queued) completes.</summary>
    protected void DeactivateOnIdle() => Activation.RequestDeactivation();
}
