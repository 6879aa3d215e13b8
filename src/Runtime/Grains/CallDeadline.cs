namespace Cluster.Runtime;

/// <summary>A call's deadline: the caller's token plus the per-call timeout, and a TimeoutException that
/// names the call when the timeout (not the caller) ended it.</summary>
internal static class CallDeadline
{
    public static async Task<object?> RunAsync(GrainId grain, GrainMethod method, TimeSpan limit, CancellationToken cancellation,
        Func<CancellationToken, Task<object?>> call)
    {
        using var timeout = new CancellationTokenSource(limit);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, timeout.Token);
        try
        {
            return await call(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellation.IsCancellationRequested)
        {
            throw new TimeoutException($"{grain}.{method.Name} did not answer within {limit.TotalSeconds:0.###} s");
        }
    }
}
