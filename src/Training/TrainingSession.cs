using Cluster.Training.Checkpoints;
using Cluster.Training.Reduction;
using Cluster.Training.Threading;

namespace Cluster.Training;

/// <summary>What every kind of session shares: the device thread every member runs on, the replica, its group's
/// reducer and buckets, the step it stands at, checkpoints, and the order things are freed in.</summary>
public abstract class TrainingSession<TReplica> : ITrainingSession where TReplica : DataParallelReplica
{
    readonly DeviceThread _thread;

    protected TrainingSession(GroupOptions options)
    {
        Group = options;
        _thread = new DeviceThread($"worker {options.Job}/{options.Layout.Rank}", options.Threads);
    }

    protected GroupOptions Group { get; }
    protected TReplica? Replica { get; set; }
    protected IGradientReducer? Reducer { get; set; }
    protected BucketedReduction? Buckets { get; set; }

    public long Step { get; protected set; }
    public ulong WeightChecksum { get; protected set; }

    /// <summary>Runs <see cref="Start"/> on the device thread; a session that fails to start frees what it made.</summary>
    protected static async Task<TSession> StartAsync<TSession>(TSession session) where TSession : TrainingSession<TReplica>
    {
        try
        {
            await session._thread.RunAsync(session.Start);
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>Builds the replica (loading <see cref="GroupOptions.Checkpoint"/> when set), joins the group and takes
    /// rank 0's weights. On the device thread.</summary>
    protected abstract void Start();

    /// <summary>Trains one step on the device thread; returns the real tokens trained on.</summary>
    protected abstract StepResult Train(long step, out long tokens);

    protected Task<T> OnThread<T>(Func<T> work) => _thread.RunAsync(work);
    protected Task OnThread(Action work) => _thread.RunAsync(work);

    /// <summary>Loads the checkpoint into the replica if there is one, joins the group, and takes rank 0's weights.</summary>
    protected void JoinGroup(TReplica replica)
    {
        Replica = replica;
        if (Group.Checkpoint is not null) Step = TrainingCheckpoint.Load(Group.Checkpoint, replica).Step;
        Reducer = Group.JoinGroup();
        WeightChecksum = replica.SynchronizeWeights(Reducer);
    }

    public Task<(StepResult Result, long Tokens)> TrainStepAsync(long step) => _thread.RunAsync(() =>
    {
        if (step != Step) throw new InvalidOperationException($"the replica is at step {Step}, not {step}");
        var result = Train(step, out var tokens);
        Step = step + 1;
        return (result, tokens);
    });

    public Task<string> SaveCheckpointAsync(long tokens, double loss) => _thread.RunAsync(() =>
        TrainingCheckpoint.Save(Group.CheckpointsDirectory, Replica!, new TrainerState { Step = Step, Tokens = tokens, Loss = loss, Job = Group.Job }));

    public abstract Task SaveModelAsync(string directory);

    /// <summary>What a kind of session frees besides the replica and the group (after them), on the device thread.</summary>
    protected virtual void DisposeOnThread() { }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _thread.RunAsync(() =>
            {
                Buckets?.Dispose();
                Reducer?.Dispose();
                Replica?.Dispose();
                DisposeOnThread();
            });
        }
        finally { _thread.Dispose(); }
    }
}
