using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cluster.Runtime.Client;
using Cluster.Runtime.Diagnostics;
using Cluster.Silo;
using Silo = Cluster.Runtime.Silo;

namespace Cluster.Runtime.Tests;

/// <summary>The Silo executable: its settings, and two of its processes forming a cluster on loopback.</summary>
public sealed class SiloHostTests
{
    static readonly Dictionary<string, string?> NoEnvironment = [];

    [Fact]
    public void Command_line_overrides_environment_which_overrides_appsettings()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        File.WriteAllText(Path.Combine(dir, "appsettings.json"), """{"Silo":{"ClusterId":"from-file","Port":1111,"GatewayPort":2222,"Devices":"cpu"}}""");
        var env = new Dictionary<string, string?> { ["CLUSTER_ID"] = "from-env", ["POD_NAME"] = "pod-7", ["POD_IP"] = "10.1.2.3", ["CLUSTER_PORT"] = "3333" };
        var options = SiloConfiguration.Load(["--cluster-id", "from-args", "--devices", "cpu,cuda:0"], env, dir);
        Assert.Equal("from-args", options.ClusterId);
        Assert.Equal("pod-7", options.Name);
        Assert.Equal("10.1.2.3", options.AdvertisedHost);
        Assert.Equal("0.0.0.0", options.ListenAddress);
        Assert.Equal(3333, options.Port);
        Assert.Equal(2222, options.GatewayPort);
        Assert.Equal(["cpu", "cuda:0"], options.Devices);
    }

    [Theory]
    [InlineData(new[] { "--bogus", "1" }, "unknown option '--bogus'")]
    [InlineData(new[] { "--port" }, "needs a value")]
    [InlineData(new[] { "--port", "seventy" }, "Port 'seventy' is not a port number")]
    [InlineData(new[] { "--membership", "dev" }, "a cluster secret is required")]
    [InlineData(new[] { "--devices", "cpu,cpu" }, "distinct names")]
    [InlineData(new[] { "--port", "5000", "--gateway-port", "5000" }, "must be distinct")]
    [InlineData(new[] { "--port", "5000", "--bulk-port", "5000" }, "must be distinct")]
    public void Bad_settings_are_named(string[] args, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => SiloConfiguration.Load(args, NoEnvironment, Path.GetTempPath()));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public async Task A_port_in_use_is_a_clear_error_at_start()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var e = await Assert.ThrowsAsync<ArgumentException>(() => Silo.StartAsync(new SiloSetup
        {
            Options = new SiloOptions { Port = 0, GatewayPort = 0, BulkPort = port },
        }));
        Assert.Contains($"bulk port {port}", e.Message);
        await using var fine = await Silo.StartAsync(new SiloSetup { Options = new SiloOptions { Port = 0, GatewayPort = 0, BulkPort = 0 } });
        Assert.True(fine.IsReady);
    }

    [Fact]
    public async Task A_silo_started_before_silo_0_joins_once_silo_0_is_up_and_gives_up_with_a_reason_otherwise()
    {
        var primaryPort = FreePort();
        SiloOptions Options(string membership, int port, TimeSpan? join = null) => new()
        {
            Port = port, GatewayPort = 0, BulkPort = 0, Membership = membership, ClusterSecret = "early-secret",
            HeartbeatPeriod = TimeSpan.FromMilliseconds(100), DeathTimeout = TimeSpan.FromSeconds(5), JoinTimeout = join ?? TimeSpan.FromSeconds(60),
        };
        var early = Silo.StartAsync(new SiloSetup { Options = Options($"dev:127.0.0.1:{primaryPort}", 0) });
        Assert.False(early.IsCompleted);
        await using var primary = await Silo.StartAsync(new SiloSetup { Options = Options("dev", primaryPort) });
        await using var joined = await early.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(await Eventually.HoldsAsync(() => primary.View.Active.Count == 2 && joined.View.Active.Count == 2, TimeSpan.FromSeconds(10)));

        var nobody = FreePort();
        var e = await Assert.ThrowsAsync<SiloUnavailableException>(() =>
            Silo.StartAsync(new SiloSetup { Options = Options($"dev:127.0.0.1:{nobody}", 0, join: TimeSpan.FromSeconds(1)) }));
        Assert.Contains("could not join the membership within 1 s", e.Message);
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    static Process StartSilo(params string[] args)
    {
        // The Silo project's build output, next to this test project's (same configuration).
        var dll = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory.Replace("tests/Cluster.Runtime.Tests", "src/Silo"), "Cluster.Silo.dll"));
        Assert.True(File.Exists(dll), $"{dll} is missing; build src/Silo");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }

    static async Task<string> WaitForLineAsync(Process process, string fragment)
    {
        var read = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
                if (line.Contains(fragment)) return line;
            throw new InvalidOperationException($"silo exited ({(process.HasExited ? process.ExitCode : -1)}): {await process.StandardError.ReadToEndAsync()}");
        });
        return await read.WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Two_silo_processes_form_a_cluster_serve_calls_and_stop_on_SIGTERM()
    {
        var (port0, gateway0, port1, gateway1) = (FreePort(), FreePort(), FreePort(), FreePort());
        var (bulk0, bulk1) = (FreePort(), FreePort());
        string[] common = ["--cluster-secret", "process-test-secret", "--cluster-id", "proc"];
        using var silo0 = StartSilo([.. common, "--membership", $"dev:127.0.0.1:{port0}", "--port", $"{port0}", "--gateway-port", $"{gateway0}", "--bulk-port", $"{bulk0}", "--name", "p0"]);
        using var silo1 = StartSilo([.. common, "--membership", $"dev:127.0.0.1:{port0}", "--port", $"{port1}", "--gateway-port", $"{gateway1}", "--bulk-port", $"{bulk1}", "--name", "p1"]);
        try
        {
            await WaitForLineAsync(silo0, "up:");
            await WaitForLineAsync(silo1, "up:");
            using var client = await ClusterClient.ConnectAsync(new ClusterClientOptions
            {
                Gateways = [new Uri($"http://127.0.0.1:{gateway0}/"), new Uri($"http://127.0.0.1:{gateway1}/")],
            });
            using var http = new HttpClient();
            Assert.True(await Eventually.HoldsAsync(async () =>
                (await http.GetStringAsync($"http://127.0.0.1:{gateway1}/metrics")).Contains("cluster_membership_silos{status=\"active\"} 2"),
                TimeSpan.FromSeconds(20)), "the two processes never saw each other");

            var homes = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => client.GetGrain<IPingGrain>($"p-{i}").Ping()));
            Assert.Equal(new[] { port0, port1 }.Order(), homes.Select(h => SiloAddress.Parse(h).Port).Distinct().Order());
            Assert.Equal(3 << 20, await client.GetGrain<IPingGrain>("bytes").Echo(new byte[3 << 20]));

            // SIGTERM: the silo leaves gracefully and exits 0; the other sees it leave.
            Process.Start("kill", ["-TERM", silo1.Id.ToString()]).WaitForExit();
            await WaitForLineAsync(silo1, "stopped");
            await silo1.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, silo1.ExitCode);
            Assert.True(await Eventually.HoldsAsync(async () =>
                (await http.GetStringAsync($"http://127.0.0.1:{gateway0}/metrics")).Contains("cluster_membership_silos{status=\"left\"} 1"),
                TimeSpan.FromSeconds(20)));
            Assert.All(await Task.WhenAll(Enumerable.Range(0, 30).Select(i => client.GetGrain<IPingGrain>($"p-{i}").Ping())),
                h => Assert.Equal(port0, SiloAddress.Parse(h).Port));
        }
        finally
        {
            foreach (var p in new[] { silo1, silo0 })
                if (!p.HasExited) { p.Kill(); await p.WaitForExitAsync(); }
        }
    }
}
