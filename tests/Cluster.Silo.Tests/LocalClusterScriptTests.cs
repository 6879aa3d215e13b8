using System.Diagnostics;
using System.Net.NetworkInformation;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Cluster.Silo.Tests;

/// <summary>
/// deploy/local as a person runs it: up.sh with TLS (PostgreSQL, three silo processes speaking mutual TLS, a served model,
/// a 2-worker job), a client without a certificate refused, each silo's dashboard data, a served request, chaos.sh (a silo SIGKILLed under a job and serving load), and down.sh, after which none of its processes or
/// ports is left.
/// </summary>
public sealed class LocalClusterScriptTests(ITestOutputHelper output) : IDisposable
{
    const int BasePort = 23000;
    readonly string _state = Directory.CreateTempSubdirectory("cluster-local-").FullName;


    async Task<(int Code, string Output)> Script(string name, params (string, string)[] environment)
    {
        var info = new ProcessStartInfo("bash", [Path.Combine(Repository.Root, "deploy", "local", name)])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Repository.Root,
        };
        info.Environment["CLUSTER_LOCAL_STATE"] = _state;
        info.Environment["CLUSTER_LOCAL_BASE_PORT"] = BasePort.ToString();
        info.Environment["CLUSTER_LOCAL_SKIP_BUILD"] = "1";
        foreach (var (key, value) in environment) info.Environment[key] = value;
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        // A hang guard, not a timing assertion: the scripts take a minute or two on two cores.
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        await p.WaitForExitAsync(guard.Token);
        var text = await stdout + await stderr;
        output.WriteLine($"--- {name} (exit {p.ExitCode})\n{text}");
        return (p.ExitCode, text);
    }

    [Fact]
    public async Task Up_serve_chaos_and_down_leave_nothing_running()
    {
        try
        {
            var up = await Script("up.sh", ("CLUSTER_LOCAL_STEPS", "20"), ("CLUSTER_LOCAL_TLS", "1"));
            Assert.True(up.Code == 0, up.Output);
            Assert.Contains("up: running. Where to look:", up.Output);

            // The silos speak mutual TLS: a client without the cluster's certificate is refused.
            var connection = File.ReadAllText(Path.Combine(_state, "connection")).Trim();
            var plain = await ClusterCli.RunAsync("status", "--cluster", "postgres:" + connection, "--connect-timeout", "15");
            Assert.True(plain.ExitCode != 0, $"a client without a certificate reached the TLS cluster:\n{plain.Stdout}");

            // Each silo process's dashboard sees the three of them.
            using (var http = new HttpClient { Timeout = TimeSpan.FromMinutes(1) })
                foreach (var silo in new[] { 0, 1, 2 })
                {
                    var members = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{BasePort + 10 * silo + 2}/dashboard/api/cluster"))!["members"]!.AsArray();
                    Assert.Equal(3, members.Count(m => (string)m!["status"]! == "Active"));
                }

            // A served request, through another silo's HTTP port than the one that loaded the replica.
            var predict = await ClusterCli.RunAsync("predict", "--url", $"http://127.0.0.1:{BasePort + 12}", "--model", "demo", "--task", "fill-mask",
                "--parameters", """{"top_k": 2}""", "a large <mask> of water");
            Assert.True(predict.ExitCode == 0, predict.Stderr);
            Assert.Equal(2, JsonNode.Parse(predict.Stdout)!.AsArray().Count);

            var chaos = await Script("chaos.sh", ("CLUSTER_CHAOS_STEPS", "60"));
            Assert.True(chaos.Code == 0, chaos.Output);
            Assert.Contains("no request failed", chaos.Output);
            Assert.Contains("completed 20 steps", File.ReadAllText(Path.Combine(_state, "logs", "pretrain.log")));
        }
        finally
        {
            var pids = File.Exists(Path.Combine(_state, "processes"))
                ? File.ReadAllLines(Path.Combine(_state, "processes")).Select(l => int.Parse(l.Split(' ')[1])).ToList() : [];
            var down = await Script("down.sh");
            Assert.True(down.Code == 0, down.Output);
            foreach (var pid in pids) Assert.False(Alive(pid), $"process {pid} is still running");
            var listening = IPGlobalProperties.GetIPGlobalProperties().GetActiveTcpListeners().Select(e => e.Port)
                .Where(p => p is >= BasePort and < BasePort + 100).ToList();
            Assert.True(listening.Count == 0, $"ports still listened on: {string.Join(", ", listening)}");
        }
    }

    static bool Alive(int pid)
    {
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
    }

    public void Dispose()
    {
        try { Directory.Delete(_state, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
