using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;

namespace Cluster.Bench;

/// <summary>Runs a reference script of bench/ with Debian's python3-torch and reads the one JSON object it prints.</summary>
internal static class PythonReference
{
    public static JsonElement? Run(BenchOptions options, string script, params string[] args)
    {
        var path = Path.Combine(options.ScriptDir, script);
        var psi = new ProcessStartInfo(options.Python, [path, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
        try
        {
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                Console.Error.WriteLine($"the Python reference failed ({options.Python} {path}): {stderr.Result.Trim()}");
                return null;
            }
            return JsonDocument.Parse(stdout).RootElement.Clone();
        }
        catch (Win32Exception e)
        {
            Console.Error.WriteLine($"cannot start {options.Python} for the reference: {e.Message} (bash scripts/bootstrap.sh --bench installs it)");
            return null;
        }
    }
}
