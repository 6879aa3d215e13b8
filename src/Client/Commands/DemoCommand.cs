using System.CommandLine;
using Cluster.Torch;

using Cluster.Client.Demo;

namespace Cluster.Client.Commands;

/// <summary>`cluster demo`: the single-machine main job (for now: train a small attention classifier on the CPU).</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var steps = new Option<int>("--steps") { Description = "training steps", DefaultValueFactory = _ => 300 };
        var seed = new Option<ulong>("--seed") { Description = "random seed for weights and data", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads (0: all cores)", DefaultValueFactory = _ => 0 };
        var command = new Command("demo", "Train a one-block attention classifier from scratch and report its held-out accuracy")
        {
            steps, seed, threads,
        };
        command.SetAction(parsed =>
        {
            int s = parsed.GetValue(steps);
            if (s < 1) throw new ArgumentException($"--steps must be at least 1, got {s}");
            int t = parsed.GetValue(threads);
            if (t < 0) throw new ArgumentException($"--threads must be 0 or more, got {t}");
            torch.set_num_threads(t > 0 ? t : Environment.ProcessorCount);
            var report = DemoTraining.Run(s, parsed.GetValue(seed), Console.Out);
            return report.HeldOutAccuracy >= DemoTraining.PassingAccuracy && report.LeakedTensors == 0 ? 0 : 1;
        });
        return command;
    }
}
