using System.Diagnostics;
using System.Text.Json;

namespace Cluster.Bench;

/// <summary>Closed-loop load: each client sends its next request (<c>{"inputs": gloss}</c>) when its last is answered.</summary>
internal static class ClosedLoop
{
    public sealed record Result(int Requests, double Seconds, long Tokens, double P50, double P99)
    {
        public double PerSecond => Requests / Seconds;
    }

    /// <summary>Closed-loop clients for <paramref name="seconds"/> after a warm-up; latencies in milliseconds.</summary>
    public static async Task<Result> Load(double seconds, int clients, string[] glosses, int[] tokens, Func<string, Task<string>> send, Action? started = null)
    {
        var bodies = glosses.Select(g => JsonSerializer.Serialize(new { inputs = g })).ToArray();
        for (var i = 0; i < Math.Max(8, clients); i++) await send(bodies[i]); // warm-up: thread pools, connections, lazy native state
        started?.Invoke();
        var latencies = new List<double>[clients];
        var counted = new long[clients];
        var clock = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            latencies[c] = [];
            for (var i = c; clock.Elapsed < deadline; i += clients)
            {
                var index = i % bodies.Length;
                var started = Stopwatch.GetTimestamp();
                await send(bodies[index]);
                latencies[c].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                counted[c] += tokens[index];
            }
        })));
        var elapsed = clock.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new Result(all.Length, elapsed, counted.Sum(), all[all.Length / 2], all[Math.Min(all.Length - 1, (int)(all.Length * 0.99))]);
    }

}
