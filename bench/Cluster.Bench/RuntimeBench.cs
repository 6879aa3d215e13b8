using System.Diagnostics;
using Cluster.Client.Connection;
using Cluster.Grains;
using Cluster.Grains.Hosting;
using Cluster.Silo;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace Cluster.Bench;

/// <summary>The cluster layer on Orleans: silo A runs in this process, silo B is a Cluster.Silo process joined to it
/// (localhost membership, loopback, no TLS). Grain-call latency and calls/s with 256 in flight, locally, silo to
/// silo across the two processes, and from a client through B's gateway; then the data plane: 64 and 256 MB from
/// A to B over B's bulk channel, announced by a grain call, against a raw loopback socket copy of the same bytes
/// measured in the same run.</summary>
internal static class RuntimeBench
{
    public static int Run(BenchOptions options)
    {
        var calls = int.Parse(options.Get("calls", "20000"));
        var sizes = options.Get("megabytes", "64,256").Split(',').Select(int.Parse).ToArray();
        RunAsync(options, calls, sizes).GetAwaiter().GetResult();
        return 0;
    }

    static async Task RunAsync(BenchOptions options, int calls, int[] megabytes)
    {
        var repoRoot = Path.GetFullPath(Path.Combine(options.ScriptDir, ".."));
        var ports = LoopbackPorts.Free(8);
        var (a, b) = (ports[..4], ports[4..]);
        var settingsA = new SiloSettings
        {
            ClusterId = "bench", Name = "bench-a", SiloPort = a[0], GatewayPort = a[1], HttpPort = a[2], BulkPort = a[3],
        };
        await using var siloA = await SiloHost.BuildAsync(settingsA, new Dictionary<string, string?>(), CancellationToken.None);
        await siloA.StartAsync();
        using var siloB = SiloProcess.Start(repoRoot, ["--cluster-id", "bench", "--name", "bench-b", "--membership", $"localhost:{a[0]}",
            "--port", $"{b[0]}", "--gateway-port", $"{b[1]}", "--http-port", $"{b[2]}", "--bulk-port", $"{b[3]}"], "silo B");
        try
        {
            var factory = siloA.Services.GetRequiredService<IGrainFactory>();
            var here = siloA.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
            var dataPlane = siloA.Services.GetRequiredService<SiloDataPlane>();
            var there = await WaitForPeerAsync(siloA.Services.GetRequiredService<IClusterMembershipService>(), dataPlane, here);

            Console.WriteLine($"Runtime benchmark (Orleans {DiagnosticsGrain.OrleansVersion}): silo A in this process, silo B a Cluster.Silo process, loopback, {Environment.ProcessorCount} cores; best of {options.Repeats}");
            Console.WriteLine();
            Console.WriteLine("| grain call (IDiagnosticsGrain.Ping) | sequential latency (us) | calls/s, 256 in flight |");
            Console.WriteLine("|---|---|---|");
            await using var client = await ClusterConnection.ConnectAsync(new ClusterConnectionSettings($"127.0.0.1:{b[1]}", "bench"));
            foreach (var (name, grain) in new[]
            {
                ("local: silo A to a grain on silo A", factory.GetGrain<IDiagnosticsGrain>(here.ToParsableString())),
                ("remote: silo A to a grain on silo B (other process)", factory.GetGrain<IDiagnosticsGrain>(there.ToParsableString())),
                ("client to silo B's gateway, grain on silo B", client.Client.GetGrain<IDiagnosticsGrain>(there.ToParsableString())),
            })
            {
                var (latency, rate) = await MeasureCallsAsync(grain, calls, options.Repeats);
                Console.WriteLine($"| {name} | {latency:F1} | {rate:F0} |");
            }

            Console.WriteLine();
            Console.WriteLine("| data plane, silo A to silo B | MB | seconds | MB/s | vs raw socket |");
            Console.WriteLine("|---|---|---|---|---|");
            var probe = factory.GetGrain<IDiagnosticsGrain>(there.ToParsableString());
            using var rawSocket = new RawSocketSink.Client(typeof(RuntimeBench).Assembly.Location);
            foreach (var size in megabytes)
            {
                var payload = new byte[(long)size << 20];
                Random.Shared.NextBytes(payload);
                await VerifyAsync(dataPlane, probe, there, payload); // also the warm-up of the bulk path
                await rawSocket.CopyAsync(payload); // and of the reference's
                double raw = double.MaxValue, bulk = double.MaxValue;
                // Alternated, so that both see the same machine; best of each (first-touch page faults in the
                // receiving process dominate the spread, on both sides).
                for (var r = 0; r < Math.Max(options.Repeats, 5); r++)
                {
                    raw = Math.Min(raw, await rawSocket.CopyAsync(payload));
                    bulk = Math.Min(bulk, await BulkCopyAsync(dataPlane, probe, there, payload));
                }
                Console.WriteLine($"| raw TCP socket, this process to a second one (reference) | {size} | {raw:F3} | {size / raw:F0} | 1.00 |");
                Console.WriteLine($"| bulk channel, announced by a grain call | {size} | {bulk:F3} | {size / bulk:F0} | {raw / bulk:F2} |");
            }
        }
        finally
        {
            // B leaves gracefully first (SIGTERM), so that A does not spend its last seconds reporting a vanished peer.
            if (!siloB.HasExited) Process.Start("kill", ["-TERM", siloB.Id.ToString()])!.WaitForExit();
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await siloB.WaitForExitAsync(patience.Token); }
            catch (OperationCanceledException) { siloB.Kill(); }
            await siloA.StopAsync();
        }
    }

    static async Task<(double LatencyMicroseconds, double CallsPerSecond)> MeasureCallsAsync(IDiagnosticsGrain grain, int calls, int repeats)
    {
        var latency = double.MaxValue;
        var rate = 0.0;
        for (var i = 0; i < 500; i++) await grain.Ping(i); // warm-up: activation, connections, JIT
        for (var r = 0; r < repeats; r++)
        {
            var n = Math.Max(200, calls / 10);
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < n; i++) await grain.Ping(i);
            latency = Math.Min(latency, watch.Elapsed.TotalMicroseconds / n);
            watch.Restart();
            await Task.WhenAll(Enumerable.Range(0, 256).Select(async w =>
            {
                for (var i = w; i < calls; i += 256) await grain.Ping(i);
            }));
            rate = Math.Max(rate, calls / watch.Elapsed.TotalSeconds);
        }
        return (latency, rate);
    }

    /// <summary>The whole copy as a worker would see it: the control call that names the transfer, the bytes over
    /// the bulk channel into fresh arrays on B, and B's answer.</summary>
    static async Task<double> BulkCopyAsync(SiloDataPlane dataPlane, IDiagnosticsGrain probe, SiloAddress target, byte[] payload)
    {
        var transfer = Guid.NewGuid();
        var watch = Stopwatch.StartNew();
        var received = probe.ReceiveProbe(transfer, checksum: false);
        await dataPlane.SendAsync(target, transfer, [payload], CancellationToken.None);
        var result = await received;
        var seconds = watch.Elapsed.TotalSeconds;
        if (result.Bytes != payload.Length) throw new InvalidOperationException($"probe received {result.Bytes} bytes of {payload.Length}");
        return seconds;
    }

    static async Task VerifyAsync(SiloDataPlane dataPlane, IDiagnosticsGrain probe, SiloAddress target, byte[] payload)
    {
        var transfer = Guid.NewGuid();
        var received = probe.ReceiveProbe(transfer, checksum: true);
        await dataPlane.SendAsync(target, transfer, [payload], CancellationToken.None);
        if ((await received).Crc64 != System.IO.Hashing.Crc64.HashToUInt64(payload))
            throw new InvalidOperationException("the bulk transfer arrived corrupted");
    }

    static async Task<SiloAddress> WaitForPeerAsync(IClusterMembershipService membership, SiloDataPlane dataPlane, SiloAddress self)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            var peer = membership.CurrentSnapshot.Members.Values.FirstOrDefault(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(self));
            if (peer is not null)
            {
                try { dataPlane.EndpointOf(peer.SiloAddress); return peer.SiloAddress; }
                catch (Cluster.DataPlane.BulkChannelException) { } // its metadata is still on the way
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("silo B did not join silo A within 2 minutes");
    }
}
