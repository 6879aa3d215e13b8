using Cluster.Torch;
using Cluster.Torch.Distributed;
using Cluster.Training.Batching;
using Cluster.Training.FineTuning;

namespace Cluster.Training.Tests;

/// <summary>Fine-tunes with each rank on its own thread (c10d Gloo between them, as the workers of a job): rank 0
/// evaluates at the end and may save; every rank's weights come back equal, rank 0's are returned.</summary>
static class FineTuningHarness
{
    static readonly TimeSpan Guard = TimeSpan.FromMinutes(10);

    public sealed record Outcome(Dictionary<string, double> Metrics, Dictionary<string, float[]> Weights, StepResult[] Steps, FineTuningTask Task);

    public static Task<Outcome> RunAsync(string encoder, FineTuningTask task, int workers, int batch, long steps, ulong seed, int accumulation = 1,
        bool freeze = false, string? saveTo = null, double learningRate = 3e-3, string? tokenizerDirectory = null, bool bf16 = false)
    {
        var settings = new OptimizerSettings { LearningRate = learningRate, TotalSteps = steps, WarmupSteps = steps / 10, Beta2 = 0.999, Epsilon = 1e-8, WeightDecay = 0, Bf16 = bf16 };
        return Task.Run(async () =>
        {
            using var server = workers > 1 ? new TCPStore("127.0.0.1", 0, isServer: true, timeout: Guard) : null;
            var ranks = Enumerable.Range(0, workers).Select(rank => Task.Factory.StartNew(() =>
            {
                using var scope = torch.NewDisposeScope();
                using var group = new RankReducer(server, rank, workers, Guard);
                using var replica = FineTuningReplica.Create(encoder, task.Spec, seed, settings, Device.CPU, freeze);
                var layout = new WorkerLayout(rank, workers, accumulation, batch);
                var worker = new FineTuningWorker(replica, task, new GlobalBatchPlan(task.Train.Length, layout.GlobalBatch, seed));
                replica.SynchronizeWeights(group.Reducer);
                var results = new List<StepResult>();
                for (var step = 0L; step < steps; step++) results.Add(worker.TrainStep(step, layout, group.Reducer, out _));
                var metrics = rank == 0 ? task.Evaluate(replica, 32) : [];
                if (rank == 0 && saveTo is not null) replica.Save(saveTo, encoder, tokenizerDirectory ?? encoder);
                var weights = replica.Model.Module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32).ToArray<float>());
                return new Outcome(metrics, weights, results.ToArray(), task);
            }, TaskCreationOptions.LongRunning)).ToArray();
            return (await Task.WhenAll(ranks).WaitAsync(Guard))[0];
        });
    }
}
