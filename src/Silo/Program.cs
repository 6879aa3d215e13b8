using System.Runtime.InteropServices;
using Cluster.Runtime;
using Cluster.Silo;

// The silo host. Runs until SIGTERM/SIGINT, then stops gracefully: grains deactivate, the silo leaves
// the membership, the ports close.
if (args is ["--help"] or ["-h"])
{
    Console.WriteLine(SiloConfiguration.Usage);
    return 0;
}

SiloOptions options;
try
{
    var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
        .ToDictionary(e => (string)e.Key, e => (string?)e.Value);
    options = SiloConfiguration.Load(args, environment);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"Cluster.Silo: {e.Message}");
    Console.Error.WriteLine(SiloConfiguration.Usage);
    return 2;
}

var grains = new GrainRegistry().Add<Cluster.Runtime.Diagnostics.IPingGrain, Cluster.Runtime.Diagnostics.PingGrain>();
Silo silo;
try
{
    silo = await Silo.StartAsync(new SiloSetup { Options = options, Grains = grains });
}
catch (Exception e) when (e is ArgumentException or SiloUnavailableException or IOException or System.Net.Sockets.SocketException)
{
    Console.Error.WriteLine($"Cluster.Silo: cannot start: {e.Message}");
    return 1;
}

using var stop = new CancellationTokenSource();
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
Console.WriteLine($"silo {silo.Address} ({options.Name}) up: internal port {silo.InternalPort}, gateway {silo.GatewayUri}, membership {options.Membership.Split(':')[0]}, devices {string.Join(",", options.Devices)}");
try { await Task.Delay(Timeout.Infinite, stop.Token); }
catch (OperationCanceledException) { }
Console.WriteLine($"silo {silo.Address} stopping");
await silo.StopAsync();
Console.WriteLine($"silo {silo.Address} stopped");
return 0;
