using System.Diagnostics;

namespace Cluster.Bench;

/// <summary>A Cluster.Silo process from this checkout's build, its standard error echoed with <paramref name="label"/>
/// (Orleans' warnings left out when asked), for the suites that measure across processes.</summary>
internal static class SiloProcess
{
    public static Process Start(string repoRoot, string[] args, string label, bool hideWarnings = false)
    {
        var dll = Path.Combine(repoRoot, "src/Silo/bin/Release/net10.0/Cluster.Silo.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException($"{dll} is missing: build the solution (scripts/bootstrap.sh)");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null && !(hideWarnings && e.Data.Contains(" warn: "))) Console.Error.WriteLine($"{label}: {e.Data}");
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
