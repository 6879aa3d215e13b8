using System.Collections.Concurrent;

namespace Cluster.Training.Threading;

/// <summary>The one thread that works on a device: native tensor work is queued here and runs in order, never on the
/// caller's thread (an Orleans scheduler thread must not block, and a DisposeScope belongs to the thread that opened
/// it). <see cref="RunAsync{T}"/> returns when the work is done.</summary>
public sealed class DeviceThread : IDisposable
{
    readonly BlockingCollection<Action> _work = new();
    readonly Thread _thread;

    public DeviceThread(string name, int? intraOpThreads = null)
    {
        _thread = new Thread(() =>
        {
            if (intraOpThreads is { } n) Cluster.Torch.torch.set_num_threads(n);
            foreach (var item in _work.GetConsumingEnumerable()) item();
        })
        { IsBackground = true, Name = name };
        _thread.Start();
    }

    public Task<T> RunAsync<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _work.Add(() =>
            {
                try { done.SetResult(work()); }
                catch (Exception e) { done.SetException(e); }
            });
        }
        catch (InvalidOperationException) { done.SetException(new ObjectDisposedException(_thread.Name, "the device thread has stopped")); }
        return done.Task;
    }

    public Task RunAsync(Action work) => RunAsync(() => { work(); return true; });

    /// <summary>Lets queued work finish, then ends the thread.</summary>
    public void Dispose()
    {
        _work.CompleteAdding();
        if (Thread.CurrentThread != _thread) _thread.Join();
        _work.Dispose();
    }
}
