using Xunit;

namespace Cluster.Client.Tests;

public class DemoCommandTests
{
    [Fact]
    public async Task DemoTrainsToHighHeldOutAccuracyWithoutLeakingTensors()
    {
        var r = await ClusterCli.RunAsync("demo", "--steps", "150", "--seed", "3");
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        var accuracy = r.Stdout.Split('\n').Single(l => l.StartsWith("held-out accuracy:"));
        var percent = double.Parse(accuracy.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(percent, 95.0, 100.0);
        Assert.Contains("native tensors still alive after the model was disposed: 0", r.Stdout);
    }

    [Fact]
    public async Task BadArgumentsExitNonZeroWithAOneLineReason()
    {
        var r = await ClusterCli.RunAsync("demo", "--steps", "0");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("cluster: --steps must be at least 1, got 0", r.Stderr.Trim());

        var unknown = await ClusterCli.RunAsync("frobnicate");
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("frobnicate", unknown.Stderr);
    }

    [Fact]
    public async Task EveryVerbHasHelp()
    {
        var r = await ClusterCli.RunAsync("demo", "--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("--steps", r.Stdout);
    }
}
