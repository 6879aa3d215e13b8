using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cluster.Runtime;
using Cluster.Runtime.Testing;

namespace Cluster.Bench;

public interface IBenchGrain : IGrainWithStringKey
{
    Task<int> Ping(int x);
    Task<int> Sink(byte[] payload);
    Task<string> Home();
    Task<byte[]> Give();
}

[PreferLocalPlacement]
public sealed class BenchGrain : Grain, IBenchGrain
{
    public Task<int> Ping(int x) => Task.FromResult(x + 1);
    public Task<int> Sink(byte[] payload) => Task.FromResult(payload.Length);
    public Task<string> Home() => Task.FromResult(Silo.ToString());
    /// <summary>The benchmark's payload, returned as a result (the process is shared, so no copy is made to set it up).</summary>
    public static byte[] Payload = [];
    public Task<byte[]> Give() => Task.FromResult(Payload);
}

/// <summary>Grain calls on two loopback silos: round-trip latency and calls/s for a local and a remote
/// grain and through a gateway, and a 64 MB payload to a grain on the other silo against a raw TCP
/// socket copy of the same bytes (send, then a 4-byte acknowledgement) measured in the same run.</summary>
internal static class RuntimeBench
{
    public static int Run(BenchOptions options)
    {
        var calls = int.Parse(options.Get("calls", "20000"));
        var megabytes = int.Parse(options.Get("megabytes", "64"));
        RunAsync(calls, megabytes, options.Repeats).GetAwaiter().GetResult();
        return 0;
    }

    static async Task RunAsync(int calls, int megabytes, int repeats)
    {
        await using var cluster = await TestCluster.StartAsync(new TestClusterOptions
        {
            InitialSilos = 2,
            Grains = r => r.Add<IBenchGrain, BenchGrain>(),
            DeathTimeout = TimeSpan.FromSeconds(30),
        });
        var (a, b) = (cluster.Silos[0], cluster.Silos[1]);
        var local = a.GrainFactory.GetGrain<IBenchGrain>("local");
        // Prefer-local: activated from silo B, the grain lives on B, so calls from A are remote.
        var remote = b.GrainFactory.GetGrain<IBenchGrain>("remote");
        if (await local.Home() != a.Address.ToString() || await remote.Home() != b.Address.ToString())
            throw new InvalidOperationException("bench grains did not land where expected");
        remote = a.GrainFactory.GetGrain<IBenchGrain>("remote");

        Console.WriteLine($"Runtime benchmark: 2 silos on loopback, {Environment.ProcessorCount} cores; best of {repeats}");
        Console.WriteLine();
        Console.WriteLine("| call | sequential latency (us) | concurrent calls/s (256 in flight) |");
        Console.WriteLine("|---|---|---|");
        foreach (var (name, grain) in new[] { ("local grain", local), ("remote grain (HTTP/2)", remote), ("client via gateway (HTTP/1.1)", cluster.Client.GetGrain<IBenchGrain>("remote")) })
        {
            var latency = double.MaxValue;
            var rate = 0.0;
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
            Console.WriteLine($"| {name} | {latency:F1} | {rate:F0} |");
        }

        var payload = new byte[megabytes << 20];
        Random.Shared.NextBytes(payload);
        using var gatewayB = await Cluster.Runtime.Client.ClusterClient.ConnectAsync(new() { Gateways = [b.GatewayUri] });
        var viaGateway = gatewayB.GetGrain<IBenchGrain>("remote");
        BenchGrain.Payload = payload;
        double grainBest = double.MaxValue, socketBest = double.MaxValue, gatewayBest = double.MaxValue, resultBest = double.MaxValue;
        for (var r = 0; r < repeats; r++)
        {
            var watch = Stopwatch.StartNew();
            if (await remote.Sink(payload) != payload.Length) throw new InvalidOperationException("payload length mismatch");
            grainBest = Math.Min(grainBest, watch.Elapsed.TotalSeconds);
            socketBest = Math.Min(socketBest, await RawSocketCopyAsync(payload));
            watch.Restart();
            if ((await remote.Give()).Length != payload.Length) throw new InvalidOperationException("result length mismatch");
            resultBest = Math.Min(resultBest, watch.Elapsed.TotalSeconds);
            watch.Restart();
            await viaGateway.Sink(payload);
            gatewayBest = Math.Min(gatewayBest, watch.Elapsed.TotalSeconds);
        }
        // The same call with the bulk channel off, to show what it buys.
        double http2Best = double.MaxValue;
        await using (var http2Only = await TestCluster.StartAsync(new TestClusterOptions
        {
            InitialSilos = 2,
            Grains = r => r.Add<IBenchGrain, BenchGrain>(),
            DeathTimeout = TimeSpan.FromSeconds(30),
            ConfigureSilo = (_, o) => o.BulkThresholdBytes = long.MaxValue,
        }))
        {
            await http2Only.Silos[1].GrainFactory.GetGrain<IBenchGrain>("remote").Home();
            var far = http2Only.Silos[0].GrainFactory.GetGrain<IBenchGrain>("remote");
            for (var r = 0; r < repeats; r++)
            {
                var watch = Stopwatch.StartNew();
                await far.Sink(payload);
                http2Best = Math.Min(http2Best, watch.Elapsed.TotalSeconds);
            }
        }
        Console.WriteLine();
        Console.WriteLine($"| {megabytes} MB payload, silo A -> grain on silo B | seconds | MB/s | vs raw socket |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| raw TCP socket copy (reference) | {socketBest:F3} | {megabytes / socketBest:F0} | 1.00 |");
        Console.WriteLine($"| grain call, byte[] argument (HTTP/2 call + bulk TCP segment) | {grainBest:F3} | {megabytes / grainBest:F0} | {socketBest / grainBest:F2} |");
        Console.WriteLine($"| grain result, byte[] from B back to A (bulk TCP) | {resultBest:F3} | {megabytes / resultBest:F0} | {socketBest / resultBest:F2} |");
        Console.WriteLine($"| same call, bulk channel off (all HTTP/2) | {http2Best:F3} | {megabytes / http2Best:F0} | {socketBest / http2Best:F2} |");
        Console.WriteLine($"| client -> gateway of B (HTTP/1.1) | {gatewayBest:F3} | {megabytes / gatewayBest:F0} | {socketBest / gatewayBest:F2} |");
    }

    /// <summary>The reference: the same bytes over one warm loopback TCP connection into a fresh array on the
    /// receiving side (as the grain call receives them), then a 4-byte acknowledgement. The first transfer
    /// warms the connection and is not timed.</summary>
    static async Task<double> RawSocketCopyAsync(byte[] payload)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var receiver = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            for (var round = 0; round < 2; round++)
            {
                var received = GC.AllocateUninitializedArray<byte>(payload.Length);
                var at = 0;
                while (at < received.Length)
                {
                    var n = await socket.ReceiveAsync(received.AsMemory(at), SocketFlags.None);
                    if (n == 0) throw new IOException("sender closed early");
                    at += n;
                }
                await socket.SendAsync(BitConverter.GetBytes(received.Length), SocketFlags.None);
            }
        });
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await sender.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        var seconds = 0.0;
        for (var round = 0; round < 2; round++)
        {
            var watch = Stopwatch.StartNew();
            var sent = 0;
            while (sent < payload.Length) sent += await sender.SendAsync(payload.AsMemory(sent), SocketFlags.None);
            var ack = new byte[4];
            var got = 0;
            while (got < 4) got += await sender.ReceiveAsync(ack.AsMemory(got), SocketFlags.None);
            seconds = watch.Elapsed.TotalSeconds;
        }
        await receiver;
        return seconds;
    }
}
