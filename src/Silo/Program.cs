using Cluster.Grains;
using Cluster.Silo;

// The silo host. Runs until SIGTERM or SIGINT, then stops gracefully: grains deactivate, the silo leaves the
// membership, the process exits 0. Bad settings exit 2, a start that fails exits 1, each with one line.
if (args is ["--help"] or ["-h"])
{
    Console.WriteLine(SiloConfiguration.Usage);
    return 0;
}

var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
    .ToDictionary(e => (string)e.Key, e => (string?)e.Value);
SiloSettings settings;
try { settings = SiloConfiguration.Load(args, environment); }
catch (ArgumentException e)
{
    Console.Error.WriteLine($"Cluster.Silo: {e.Message} (see --help)");
    return 2;
}

try
{
    await using var app = await SiloHost.BuildAsync(settings, environment, CancellationToken.None);
    await app.StartAsync();
    var silo = app.Services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>();
    Console.WriteLine($"silo {silo.Name} up: {silo.SiloAddress.ToParsableString()}, gateway {silo.GatewayAddress?.Endpoint}, http :{settings.HttpPort}, bulk :{settings.BulkPort}, membership {settings.Membership}, devices {string.Join(",", settings.Devices)}{(settings.UsesTls ? ", TLS" : "")}");
    await app.WaitForShutdownAsync();
    Console.WriteLine($"silo {silo.Name} stopped");
    return 0;
}
catch (SiloStartException e)
{
    Console.Error.WriteLine($"Cluster.Silo: cannot start: {e.Message}");
    return 1;
}
catch (Exception e) when (e is Orleans.Runtime.OrleansException or TimeoutException or IOException or System.Net.Sockets.SocketException)
{
    Console.Error.WriteLine($"Cluster.Silo: cannot start: {StartError(e)}");
    return 1;
}

static string StartError(Exception e) => (e.InnerException is { } inner && e is AggregateException ? inner : e).FirstLine();
