using Microsoft.Extensions.Logging;

namespace Cluster.Runtime.Activation;

/// <summary>A grain timer: each tick is queued as a turn of its activation and awaited before the next
/// period starts, so ticks never overlap each other or a non-reentrant call.</summary>
internal sealed class GrainTimer(GrainActivation activation, Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period, ILogger log)
    : IDisposable
{
    readonly CancellationTokenSource _stop = new();

    public void Start() => _ = RunAsync();

    async Task RunAsync()
    {
        var token = _stop.Token;
        try
        {
            await Task.Delay(dueTime, token).ConfigureAwait(false);
            while (!token.IsCancellationRequested)
            {
                if (!activation.TryEnqueue(async () => { await callback(token); return null; }, isCall: false, out var done))
                    return;
                try { await done.ConfigureAwait(false); }
                catch (Exception e) when (e is not OperationCanceledException) { log.LogWarning(e, "timer of {Grain} threw", activation.Id); }
                if (period == Timeout.InfiniteTimeSpan) return;
                await Task.Delay(period, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested) { }
    }

    public void Dispose()
    {
        try { _stop.Cancel(); } catch (ObjectDisposedException) { }
    }
}
