using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Cluster.Bench;

/// <summary>
/// A reference script of bench/ running under Debian's python3-torch as a child process that answers
/// one measurement per request line, so a benchmark can alternate its own passes with the
/// reference's and both see the same machine.
/// </summary>
internal sealed class PythonReference : IDisposable
{
    private readonly Process process;

    public PythonReference(BenchOptions options, string script, params string[] args)
    {
        var path = Path.Combine(options.ScriptDir, script);
        var psi = new ProcessStartInfo(options.Python, [path, .. args]) { RedirectStandardInput = true, RedirectStandardOutput = true };
        // --reference-env NAME=VALUE: an environment variable for the reference only (e.g. glibc malloc tunables)
        if (options.Named.TryGetValue("reference-env", out var assignment))
        {
            int eq = assignment.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"--reference-env takes NAME=VALUE, got '{assignment}'");
            psi.Environment[assignment[..eq]] = assignment[(eq + 1)..];
            ExtraEnvironment = assignment;
        }
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {options.Python}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot start {options.Python} for the reference: {e.Message} (bash scripts/bootstrap.sh --bench installs it)");
        }
        var hello = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"{path} failed to start (is python3-torch installed?)");
        Version = JsonDocument.Parse(hello).RootElement.GetProperty("version").GetString() ?? "?";
    }

    public string Version { get; }

    /// <summary>The --reference-env assignment, if any.</summary>
    public string? ExtraEnvironment { get; }

    public double Ask(string request)
    {
        process.StandardInput.WriteLine(request);
        var answer = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"the reference died on '{request}'");
        return double.Parse(answer, CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        process.StandardInput.Close();
        process.WaitForExit();
        process.Dispose();
    }
}
