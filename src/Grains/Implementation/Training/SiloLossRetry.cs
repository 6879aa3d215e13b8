using Orleans.Runtime;

namespace Cluster.Grains;

/// <summary>Right after a silo dies, a call to a grain that lived there can be rejected ("Forwarding failed ... invalid
/// activation", silo unavailable) until the grain directory has dropped the dead activation. Such a rejection says
/// nothing about the call itself, so the calls a job makes to recover from that very death are retried for a while.</summary>
internal static class SiloLossRetry
{
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(60);

    public static async Task<T> CallAsync<T>(Func<Task<T>> call, TimeSpan? budget = null)
    {
        var deadline = DateTime.UtcNow + (budget ?? Budget);
        for (var delay = TimeSpan.FromMilliseconds(200); ; delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks)))
        {
            try { return await call(); }
            catch (Exception e) when (IsTransient(e) && DateTime.UtcNow + delay < deadline) { await Task.Delay(delay); }
        }
    }

    /// <summary>Rejections and time-outs from the messaging layer (SiloUnavailableException is a rejection), never an
    /// error the grain itself threw.</summary>
    public static bool IsTransient(Exception e) => e is OrleansMessageRejectionException or TimeoutException;
}
