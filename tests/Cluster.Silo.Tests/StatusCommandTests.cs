namespace Cluster.Silo.Tests;

/// <summary>`cluster status` when there is no cluster to talk to, or the address is not one.</summary>
public sealed class StatusCommandTests
{
    [Theory]
    [InlineData(new[] { "--cluster", "127.0.0.1:{port}", "--connect-timeout", "2" }, "cannot connect to cluster '127.0.0.1:{port}': no gateway answered within 2 s")]
    [InlineData(new[] { "--cluster", "nonsense" }, "--cluster: 'nonsense' is not localhost, postgres:CONNSTR or HOST:GATEWAYPORT")]
    [InlineData(new[] { "--cluster", "postgres:" }, "--cluster postgres: needs a connection string")]
    [InlineData(new[] { "--connect-timeout", "0" }, "--connect-timeout must be in (0, 3600] seconds")]
    [InlineData(new[] { "--tls-cert", "a.crt" }, "TLS needs all three of --tls-cert, --tls-key and --tls-ca")]
    public async Task Refuses_in_one_line_with_exit_code_1(string[] args, string expected)
    {
        var port = SiloPorts.FreePort().ToString(); // nobody listens there
        var result = await ClusterCli.RunAsync(["status", .. args.Select(a => a.Replace("{port}", port))]);
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.StartsWith($"cluster: {expected.Replace("{port}", port)}", line);
    }
}
