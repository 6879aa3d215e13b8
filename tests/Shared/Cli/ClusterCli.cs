using System.Diagnostics;

namespace Cluster.Testing;

/// <summary>Where a project's build output is: beside this test project's, under the same configuration and target
/// framework (tests/X/bin/Release/net10.0 → src/Y/bin/Release/net10.0).</summary>
public static class BuildOutput
{
    public static string Of(string project, string file)
    {
        var framework = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = framework.Parent!;
        var root = framework;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Cluster.sln"))) root = root.Parent;
        if (root is null) throw new InvalidOperationException($"no Cluster.sln above {AppContext.BaseDirectory}");
        var path = Path.Combine(root.FullName, project, "bin", configuration.Name, framework.Name, file);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} is missing; build {project}");
        return path;
    }
}

/// <summary>Runs the built `cluster` CLI as a child process, as a user would, from src/Client's own build output (beside
/// a test project its dependencies would be resolved as the test's are).</summary>
public static class ClusterCli
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Task<Result> RunAsync(params string[] args) => RunAsync(null, args);

    /// <summary>Runs with <paramref name="stdin"/> (raw bytes, so tests can send invalid UTF-8) as standard input.</summary>
    public static Task<Result> RunAsync(byte[]? stdin, params string[] args) => RunAsync(stdin, null, args);

    /// <summary>Runs with extra environment variables (the child's only: the test process's own are untouched).</summary>
    public static Task<Result> RunAsync(byte[]? stdin, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        RunUnderAsync([], stdin, environment, args);

    /// <summary>Runs the CLI under <paramref name="launcher"/> (a command that runs the rest, such as GNU time).</summary>
    public static async Task<Result> RunUnderAsync(string[] launcher, byte[]? stdin, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        string[] command = [.. launcher, "dotnet", BuildOutput.Of("src/Client", "cluster.dll"), .. args];
        var info = new ProcessStartInfo(command[0], command[1..])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            try { await p.StandardInput.BaseStream.WriteAsync(stdin); }
            catch (IOException) { } // the tool refused its input and exited before reading all of it
            p.StandardInput.Close();
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await p.WaitForExitAsync(timeout.Token);
        return new Result(p.ExitCode, await stdout, await stderr);
    }
}
