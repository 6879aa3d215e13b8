using System.Buffers.Binary;
using System.Net;
using System.Text;
using System.Text.Json;
using Cluster.Runtime.Messaging;

namespace Cluster.Runtime.Tests;

/// <summary>The HTTP surface seen by something that is not a well-behaved silo.</summary>
[Collection("cluster")]
public sealed class ProtocolTests(ClusterFixture fixture) : IDisposable
{
    readonly Testing.TestCluster _cluster = fixture.Cluster;
    readonly HttpClient _h2 = ClusterHttp.CreateClient(TimeSpan.FromSeconds(5));
    readonly HttpClient _h1 = new();

    public void Dispose()
    {
        _h2.Dispose();
        _h1.Dispose();
    }

    static byte[] Frame(string headerJson, params byte[][] segments)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var body = new byte[4 + header.Length + segments.Sum(s => s.Length)];
        BinaryPrimitives.WriteInt32LittleEndian(body, header.Length);
        header.CopyTo(body, 4);
        var at = 4 + header.Length;
        foreach (var s in segments) { s.CopyTo(body, at); at += s.Length; }
        return body;
    }

    static HttpContent Body(byte[] bytes) => new ByteArrayContent(bytes);

    async Task<(HttpStatusCode Status, JsonElement Error)> PostAsync(HttpClient http, Uri uri, byte[] body, string? secret = null)
    {
        using var request = ClusterHttp.Post(http, uri, Body(body));
        if (secret is not null) request.Headers.Add(WireFormat.SecretHeader, secret);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.StatusCode == HttpStatusCode.OK ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    Uri Internal(Silo silo) => new($"http://{silo.Address.Host}:{silo.InternalPort}/internal/invoke");
    Uri Gateway(Silo silo) => new(silo.GatewayUri, "gateway/invoke");

    static string Call(string grain, string method, string args, string key = "k") =>
        $$"""{"grain":"{{grain}}","key":"{{key}}","method":"{{method}}","args":{{args}},"seg":[]}""";

    [Fact]
    public async Task An_internal_call_without_the_cluster_secret_gets_401_and_reaches_no_grain()
    {
        var silo = _cluster.Silos[1];
        var call = Frame(Call(typeof(IEchoGrain).FullName!, "WhereAmI", "[]", key: "unauthorized"));
        var (missing, error) = await PostAsync(_h2, Internal(silo), call);
        Assert.Equal(HttpStatusCode.Unauthorized, missing);
        Assert.Contains("cluster secret", error.GetProperty("error").GetString());
        var (wrong, _) = await PostAsync(_h2, Internal(silo), call, secret: "not-the-secret");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong);
        Assert.False(EchoGrain.Activations.ContainsKey("unauthorized"));

        // The same call with the secret does reach the grain: the 401 was about the secret alone.
        var (ok, _) = await PostAsync(_h2, Internal(silo), call, secret: silo.Options.ClusterSecret);
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Equal(1, EchoGrain.Activations["unauthorized"]);
    }

    [Fact]
    public async Task The_gateway_port_does_not_serve_internal_calls()
    {
        var silo = _cluster.Silos[0];
        var call = Frame(Call(typeof(IEchoGrain).FullName!, "WhereAmI", "[]"));
        var (status, _) = await PostAsync(_h1, new Uri(silo.GatewayUri, "internal/invoke"), call, silo.Options.ClusterSecret);
        Assert.Equal(HttpStatusCode.NotFound, status);
    }

    [Theory]
    [InlineData("not json at all", "header is not JSON")]
    [InlineData("""{"grain":"x"}""", "\"seg\"")]
    [InlineData("""{"key":"k","method":"WhereAmI","args":[],"seg":[]}""", "no string \"grain\"")]
    public async Task Malformed_bodies_get_400_naming_the_problem(string header, string expected)
    {
        var (status, error) = await PostAsync(_h1, Gateway(_cluster.Silos[0]), Frame(header));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(expected, error.GetProperty("error").GetString());
        Assert.Equal(typeof(MessageFormatException).FullName, error.GetProperty("error_type").GetString());
    }

    [Fact]
    public async Task Truncated_and_lying_frames_get_400()
    {
        var gateway = Gateway(_cluster.Silos[0]);
        var (tooShort, e1) = await PostAsync(_h1, gateway, [1, 0]);
        Assert.Equal(HttpStatusCode.BadRequest, tooShort);
        Assert.Contains("body ended inside the header length", e1.GetProperty("error").GetString());

        var lying = Frame($$"""{"grain":"{{typeof(IEchoGrain).FullName}}","key":"k","method":"Reverse","args":[{"$segment":0}],"seg":[100]}""", new byte[10]);
        var (truncated, e2) = await PostAsync(_h1, gateway, lying);
        Assert.Equal(HttpStatusCode.BadRequest, truncated);
        Assert.Contains("segment 0", e2.GetProperty("error").GetString());

        var wrongType = Frame(Call(typeof(IEchoGrain).FullName!, "Rename", """["not a blob","x"]"""));
        var (badArg, e3) = await PostAsync(_h1, gateway, wrongType);
        Assert.Equal(HttpStatusCode.BadRequest, badArg);
        Assert.Contains("argument 0 of Rename", e3.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Unknown_grain_types_and_methods_get_404_naming_them()
    {
        var gateway = Gateway(_cluster.Silos[0]);
        var (type, e1) = await PostAsync(_h1, gateway, Frame(Call("No.Such.IGrain", "Anything", "[]")));
        Assert.Equal(HttpStatusCode.NotFound, type);
        Assert.Contains("no grain type 'No.Such.IGrain'", e1.GetProperty("error").GetString());
        Assert.Equal(typeof(UnknownGrainException).FullName, e1.GetProperty("error_type").GetString());

        var (method, e2) = await PostAsync(_h1, gateway, Frame(Call(typeof(IEchoGrain).FullName!, "NoSuchMethod", "[]")));
        Assert.Equal(HttpStatusCode.NotFound, method);
        Assert.Contains("has no method 'NoSuchMethod'", e2.GetProperty("error").GetString());

        var (arity, e3) = await PostAsync(_h1, gateway, Frame(Call(typeof(IEchoGrain).FullName!, "Fail", "[]")));
        Assert.Equal(HttpStatusCode.BadRequest, arity);
        Assert.Contains("takes 1 arguments", e3.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Health_ready_and_metrics_answer_on_the_gateway_port()
    {
        var silo = _cluster.Silos[0];
        await _cluster.Client.GetGrain<IEchoGrain>("metered").WhereAmI();
        var home = _cluster.Silos.First(s => s.ActivationCount > 0);

        Assert.Equal(HttpStatusCode.OK, (await _h1.GetAsync(new Uri(silo.GatewayUri, "health"))).StatusCode);
        var ready = await _h1.GetAsync(new Uri(silo.GatewayUri, "ready"));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(3, JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("active_silos").GetInt32());

        var metrics = await Task.WhenAll(_cluster.Silos.Select(s => _h1.GetStringAsync(new Uri(s.GatewayUri, "metrics"))));
        Assert.All(metrics, m => Assert.Contains("cluster_membership_silos{status=\"active\"} 3", m));
        var echo = typeof(IEchoGrain).FullName;
        Assert.Contains(metrics, m => m.Contains($"cluster_activations{{type=\"{echo}\"}}"));
        Assert.Contains(metrics, m => m.Contains($"cluster_grain_calls_total{{type=\"{echo}\",method=\"WhereAmI\"}}"));
        Assert.Contains(metrics, m => m.Contains($"cluster_grain_call_duration_seconds_bucket{{type=\"{echo}\",method=\"WhereAmI\",le=\"+Inf\"}}"));
        Assert.NotNull(home);
    }
}
