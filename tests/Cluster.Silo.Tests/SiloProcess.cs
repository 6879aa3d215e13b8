using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Cluster.Silo.Tests;

/// <summary>The ports one silo process listens on, all free when allocated.</summary>
public sealed record SiloPorts(int Silo, int Gateway, int Http, int Bulk)
{
    static readonly HashSet<int> HandedOut = [];

    /// <summary>Four distinct free ports, none handed out before in this test run (the OS reuses freed ones).</summary>
    public static SiloPorts Allocate()
    {
        var ports = new List<int>();
        lock (HandedOut)
            while (ports.Count < 4)
                if (FreePort() is var port && HandedOut.Add(port)) ports.Add(port);
        return new(ports[0], ports[1], ports[2], ports[3]);
    }

    public string[] Args => ["--port", $"{Silo}", "--gateway-port", $"{Gateway}", "--http-port", $"{Http}", "--bulk-port", $"{Bulk}"];

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A Cluster.Silo process started from src/Silo's build output, as a user starts it; its output is kept
/// for the assertions and for the message of a test that fails.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    readonly Process _process;
    readonly StringBuilder _stdout = new(), _stderr = new();
    readonly TaskCompletionSource<string> _up = new(TaskCreationOptions.RunContinuationsAsynchronously);

    SiloProcess(Process process, SiloPorts? ports)
    {
        (_process, Ports) = (process, ports);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stdout) _stdout.AppendLine(e.Data);
            if (e.Data.StartsWith("silo ", StringComparison.Ordinal) && e.Data.Contains(" up: ")) _up.TrySetResult(e.Data);
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        process.Exited += (_, _) => _up.TrySetException(new InvalidOperationException($"silo exited with {process.ExitCode} before it was up: {Stderr}{Stdout}"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public SiloPorts? Ports { get; }
    public int Id => _process.Id;
    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }
    public bool HasExited => _process.HasExited;

    public static string SiloDll => BuildOutput.Of("src/Silo", "Cluster.Silo.dll");

    /// <summary>Starts a silo with <paramref name="ports"/> added to <paramref name="args"/>.</summary>
    public static SiloProcess Start(SiloPorts? ports, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(SiloDll);
        foreach (var a in args.Concat(ports?.Args ?? [])) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) info.Environment[k] = v;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.Start();
        return new SiloProcess(process, ports);
    }

    /// <summary>The "silo NAME up: ADDRESS, …" line; throws with the silo's output if it exits first.</summary>
    public Task<string> WaitUpAsync() => _up.Task.WaitAsync(TimeSpan.FromMinutes(3));

    /// <summary>The silo address it printed (<c>127.0.0.1:PORT@GENERATION</c>).</summary>
    public async Task<string> AddressAsync() => (await WaitUpAsync()).Split(" up: ")[1].Split(',')[0];

    public async Task<int> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    public void Signal(string signal) => Process.Start("kill", [$"-{signal}", _process.Id.ToString()])!.WaitForExit();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
