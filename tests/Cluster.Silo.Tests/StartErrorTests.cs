using System.Net;
using System.Net.Sockets;

namespace Cluster.Silo.Tests;

/// <summary>A silo that cannot start says why in one line, exits non-zero, and leaves nothing in the database.</summary>
public sealed class StartErrorTests : IAsyncLifetime
{
    readonly TestDatabase _database = new();
    public Task InitializeAsync() => _database.InitializeAsync();
    public Task DisposeAsync() => _database.DisposeAsync();

    static async Task<(int ExitCode, string Error)> RunAsync(SiloPorts ports, string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        await using var silo = SiloProcess.Start(ports, args, environment);
        var exit = await silo.WaitForExitAsync();
        var error = silo.Stderr.Trim();
        Assert.DoesNotContain("   at ", error); // no stack trace
        Assert.Single(error.Split('\n'));
        Assert.DoesNotContain(" up: ", silo.Stdout);
        return (exit, error);
    }

    [Theory]
    [InlineData(new[] { "--devices", "cpu,tpu" }, "unknown device 'tpu'")]
    [InlineData(new[] { "--membership", "etcd:x" }, "unknown membership 'etcd:x'")]
    [InlineData(new[] { "--no-such-option" }, "unknown option '--no-such-option'")]
    [InlineData(new[] { "--kubernetes" }, "--kubernetes adds Kubernetes hosting to PostgreSQL membership")]
    public async Task Bad_settings_exit_2_with_the_setting_named(string[] args, string expected)
    {
        var (exit, error) = await RunAsync(SiloPorts.Allocate(), args);
        Assert.Equal(2, exit);
        Assert.Contains(expected, error);
    }

    [Theory]
    [InlineData("silo")]
    [InlineData("gateway")]
    [InlineData("http")]
    [InlineData("bulk")]
    public async Task A_port_in_use_is_named_and_nothing_reaches_the_database(string which)
    {
        var ports = SiloPorts.Allocate();
        var port = which switch { "silo" => ports.Silo, "gateway" => ports.Gateway, "http" => ports.Http, _ => ports.Bulk };
        using var taken = new TcpListener(IPAddress.Loopback, port);
        taken.Start();
        string[] membership = TestDatabase.ServerConnectionString is null ? [] : ["--membership", $"postgres:{_database.ConnectionString}"];
        var (exit, error) = await RunAsync(ports, membership);
        Assert.Equal(1, exit);
        Assert.Contains($"{which} port {port}", error);
        Assert.Contains("is already in use", error);
        if (TestDatabase.ServerConnectionString is not null)
            Assert.Equal(0, await _database.CountAsync("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"));
    }

    [Fact]
    public async Task An_unreachable_database_is_named()
    {
        var nobody = SiloPorts.FreePort();
        var (exit, error) = await RunAsync(SiloPorts.Allocate(), ["--membership", $"postgres:Host=127.0.0.1;Port={nobody};Username=cluster;Timeout=3"]);
        Assert.Equal(1, exit);
        Assert.Contains($"PostgreSQL at 127.0.0.1:{nobody}", error);
    }

    [PostgresFact]
    public async Task A_database_that_refuses_is_named_and_nothing_is_created()
    {
        var missing = new Npgsql.NpgsqlConnectionStringBuilder(_database.ConnectionString) { Database = "no_such_database" }.ConnectionString;
        var (exit, error) = await RunAsync(SiloPorts.Allocate(), ["--membership", $"postgres:{missing}"]);
        Assert.Equal(1, exit);
        Assert.Contains("database \"no_such_database\" does not exist", error);
        Assert.Equal(0, await _database.CountAsync("SELECT count(*) FROM pg_database WHERE datname = 'no_such_database'"));
    }

    [Fact]
    public async Task A_malformed_connection_string_is_named_without_echoing_it()
    {
        var (exit, error) = await RunAsync(SiloPorts.Allocate(), ["--membership", "postgres:Host=127.0.0.1;Password=hunter2;Port=abc"]);
        Assert.Equal(1, exit);
        Assert.Contains("connection string is malformed", error);
        Assert.DoesNotContain("hunter2", error);
    }

    [Fact]
    public async Task Missing_tls_files_a_cuda_device_this_machine_lacks_and_a_pod_environment_that_is_not_there_are_named()
    {
        var dir = Directory.CreateTempSubdirectory("tls").FullName;
        var (exit, error) = await RunAsync(SiloPorts.Allocate(),
            ["--membership", "postgres:Host=127.0.0.1", "--tls-cert", Path.Combine(dir, "silo.crt"), "--tls-key", Path.Combine(dir, "silo.key"), "--tls-ca", Path.Combine(dir, "ca.crt")]);
        Assert.Equal(1, exit);
        Assert.Contains("does not exist", error);

        if (!Cluster.Torch.torch.cuda.is_available())
        {
            (exit, error) = await RunAsync(SiloPorts.Allocate(), ["--devices", "cpu,cuda:0"]);
            Assert.Equal(1, exit);
            Assert.Contains("device cuda:0 is not on this machine", error);
        }

        (exit, error) = await RunAsync(SiloPorts.Allocate(), ["--membership", "postgres:Host=127.0.0.1", "--kubernetes", "--insecure-listen-any", "--cluster-secret", "s"],
            new Dictionary<string, string> { ["POD_NAME"] = "silo-0" });
        Assert.Equal(1, exit);
        Assert.Contains("POD_NAMESPACE, POD_IP, KUBERNETES_SERVICE_HOST are not set", error);
    }
}
