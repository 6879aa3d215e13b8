using System.Net;

namespace Cluster.Silo.Tests;

public sealed class SiloSettingsTests
{
    static readonly Dictionary<string, string?> NoEnvironment = [];

    static string SettingsDirectory(string json)
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        File.WriteAllText(Path.Combine(dir, "appsettings.json"), json);
        return dir;
    }

    [Fact]
    public void Command_line_overrides_environment_which_overrides_appsettings()
    {
        var dir = SettingsDirectory("""{"Silo":{"ClusterId":"from-file","Port":1111,"GatewayPort":2222,"HttpPort":4444,"Devices":"cpu"}}""");
        var env = new Dictionary<string, string?>
        {
            ["CLUSTER_ID"] = "from-env", ["POD_NAME"] = "pod-7", ["CLUSTER_PORT"] = "3333",
            ["CLUSTER_MEMBERSHIP"] = "postgres:Host=db;Username=u", ["CLUSTER_PROBE_TIMEOUT"] = "ignored",
        };
        var settings = SiloConfiguration.Load(["--cluster-id", "from-args", "--devices", "cpu,cuda:0", "--probe-timeout", "0.5"], env, dir);
        Assert.Equal("from-args", settings.ClusterId);
        Assert.Equal("pod-7", settings.Name);
        Assert.Equal(3333, settings.SiloPort);
        Assert.Equal(2222, settings.GatewayPort);
        Assert.Equal(4444, settings.HttpPort);
        Assert.Equal(["cpu", "cuda:0"], settings.Devices);
        Assert.Equal(new MembershipSetting(MembershipKind.Postgres, null, "Host=db;Username=u"), settings.Membership);
        Assert.Equal(TimeSpan.FromSeconds(0.5), settings.FailureDetection.ProbeTimeout);
        Assert.Equal(2, settings.FailureDetection.NumMissedProbesLimit); // the fast-failover defaults
        Assert.Equal(TimeSpan.FromSeconds(2), settings.FailureDetection.TableRefreshTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.FailureDetection.IAmAliveTablePublishTimeout);
        Assert.False(settings.ListensOnAnyAddress); // no TLS: loopback only
    }

    [Fact]
    public void The_defaults_are_the_embedded_single_machine_silo()
    {
        var settings = SiloConfiguration.Load([], NoEnvironment, Path.GetTempPath());
        Assert.Equal(MembershipKind.Localhost, settings.Membership.Kind);
        Assert.Equal(["cpu"], settings.Devices);
        Assert.Equal((11111, 30000, 8080, 11112), (settings.SiloPort, settings.GatewayPort, settings.HttpPort, settings.BulkPort));
        Assert.False(settings.ListensOnAnyAddress);
    }

    [Fact]
    public void Tls_or_the_insecure_flag_opens_other_interfaces_and_a_pod_address_needs_one_of_them()
    {
        string[] tls = ["--tls-cert", "a.crt", "--tls-key", "a.key", "--tls-ca", "ca.crt", "--membership", "postgres:Host=db"];
        Assert.True(SiloConfiguration.Load(tls, NoEnvironment, Path.GetTempPath()).ListensOnAnyAddress);
        var insecure = SiloConfiguration.Load(["--insecure-listen-any", "--cluster-secret", "s", "--membership", "postgres:Host=db", "--advertised-host", "10.0.0.7"], NoEnvironment, Path.GetTempPath());
        Assert.True(insecure.ListensOnAnyAddress);
        Assert.Equal(IPAddress.Parse("10.0.0.7"), insecure.AdvertisedAddress);

        var pod = new Dictionary<string, string?> { ["POD_IP"] = "10.1.2.3", ["CLUSTER_MEMBERSHIP"] = "postgres:Host=db" };
        var e = Assert.Throws<ArgumentException>(() => SiloConfiguration.Load(["--kubernetes"], pod, Path.GetTempPath()));
        Assert.Contains("advertised address 10.1.2.3 is not loopback", e.Message);
    }

    [Theory]
    [InlineData(new[] { "--bogus", "1" }, "unknown option '--bogus'")]
    [InlineData(new[] { "--port" }, "option '--port' needs a value")]
    [InlineData(new[] { "--port", "seventy" }, "Port 'seventy' is not a port number")]
    [InlineData(new[] { "--port", "70000" }, "Port '70000' is not a port number")]
    [InlineData(new[] { "--port", "5000", "--gateway-port", "5000" }, "the silo and gateway ports are both 5000")]
    [InlineData(new[] { "--http-port", "5000", "--bulk-port", "5000" }, "the http and bulk ports are both 5000")]
    [InlineData(new[] { "--devices", "cpu,tpu" }, "unknown device 'tpu' (known devices: cpu, cuda:N)")]
    [InlineData(new[] { "--devices", "cuda:01" }, "unknown device 'cuda:01'")]
    [InlineData(new[] { "--devices", "cpu,cpu" }, "device 'cpu' is listed twice")]
    [InlineData(new[] { "--devices", "," }, "the device list is empty")]
    [InlineData(new[] { "--membership", "memory" }, "unknown membership 'memory' (known: localhost, localhost:PORT, postgres:CONNSTR)")]
    [InlineData(new[] { "--membership", "postgres:" }, "needs a connection string")]
    [InlineData(new[] { "--membership", "localhost:x" }, "after localhost: comes the primary silo's port")]
    [InlineData(new[] { "--kubernetes" }, "--kubernetes adds Kubernetes hosting to PostgreSQL membership")]
    [InlineData(new[] { "--tls-cert", "a.crt" }, "TLS needs all three of --tls-cert, --tls-key and --tls-ca")]
    [InlineData(new[] { "--insecure-listen-any" }, "localhost membership is for one machine")]
    [InlineData(new[] { "--insecure-listen-any", "--membership", "postgres:Host=db" }, "needs --cluster-secret")]
    [InlineData(new[] { "--advertised-host", "10.0.0.1" }, "without TLS the silo listens on loopback only")]
    [InlineData(new[] { "--advertised-host", "db.local" }, "advertised host 'db.local' is not an IP address")]
    [InlineData(new[] { "--probe-timeout", "-1" }, "ProbeTimeoutSeconds '-1' is not a number of seconds")]
    [InlineData(new[] { "--missed-probes", "0" }, "NumMissedProbesLimit '0' is not a count")]
    public void Bad_settings_are_named(string[] args, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => SiloConfiguration.Load(args, NoEnvironment, Path.GetTempPath()));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_connection_string_never_reaches_the_log_line()
        => Assert.Equal("postgres", MembershipSetting.Parse("postgres:Host=db;Password=hunter2").ToString());
}
