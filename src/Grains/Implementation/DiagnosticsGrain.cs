using System.Diagnostics;
using Cluster.Grains.Hosting;
using Cluster.Grains.Placement;
using Orleans.Concurrency;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace Cluster.Grains;

/// <summary>Reentrant: it keeps no state, and a probe waiting for its bytes must not hold up /ready's report.</summary>
[SiloKeyPlacement, Reentrant]
public sealed class DiagnosticsGrain(ILocalSiloDetails silo, LocalSilo local, ISiloMetadataCache metadata, SiloDataPlane dataPlane) : Grain, IDiagnosticsGrain
{
    /// <summary>How long a probe waits for its bytes (a sender that died never sends them).</summary>
    static readonly TimeSpan ProbeWait = TimeSpan.FromMinutes(2);

    public override Task OnActivateAsync(CancellationToken cancellation)
    {
        SiloKeyCheck.EnsureHere(this.GetPrimaryKeyString(), silo.SiloAddress, local);
        return Task.CompletedTask;
    }

    public Task<SiloReport> Report()
    {
        using var process = Process.GetCurrentProcess();
        metadata.GetSiloMetadata(silo.SiloAddress).Metadata.TryGetValue(SiloMetadataKeys.BulkEndpoint, out var bulk);
        return Task.FromResult(new SiloReport(
            silo.SiloAddress.ToParsableString(), silo.Name, local.Devices, bulk ?? local.BulkReceiver?.EndPoint.ToString(),
            Environment.ProcessId, local.StartedAt, process.WorkingSet64,
            OrleansVersion));
    }

    /// <summary>The Orleans package version (10.4.2), not the assembly version (10.0.0.0).</summary>
    public static string OrleansVersion { get; } =
        (typeof(Grain).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .FirstOrDefault() as System.Reflection.AssemblyInformationalVersionAttribute)?.InformationalVersion.Split(' ', '+')[0].TrimEnd('.') ?? "unknown";

    public Task<long> Ping(long value) => Task.FromResult(value);

    public async Task<BulkProbe> ReceiveProbe(Guid transfer, bool checksum)
    {
        using var timeout = new CancellationTokenSource(ProbeWait);
        var segments = await dataPlane.ReceiveAsync(transfer, timeout.Token);
        ulong? crc = null;
        if (checksum)
        {
            var hash = new System.IO.Hashing.Crc64();
            foreach (var segment in segments) hash.Append(segment);
            crc = hash.GetCurrentHashAsUInt64();
        }
        return new BulkProbe(segments.Sum(s => (long)s.Length), segments.Length, crc);
    }
}

/// <summary>The activation-side guard of <see cref="SiloKeyPlacementAttribute"/>: the key names this silo and, if any, one of its devices.</summary>
internal static class SiloKeyCheck
{
    public static DeviceKey EnsureHere(string grainKey, SiloAddress here, LocalSilo local)
    {
        var key = DeviceKey.Parse(grainKey);
        if (key.Silo != here.ToParsableString())
            throw new DeviceUnavailableException($"grain {grainKey} belongs to silo {key.Silo}, not to {here.ToParsableString()}");
        if (key.Device is not null && !local.Devices.Contains(key.Device))
            throw new DeviceUnavailableException($"silo {key.Silo} has no device {key.Device} (it has {string.Join(",", local.Devices)})");
        return key;
    }

    /// <summary>The device a device-owning grain's key names, checked to be this silo's.</summary>
    public static string DeviceHere(string grainKey, SiloAddress here, LocalSilo local, string what) =>
        EnsureHere(grainKey, here, local).Device ?? throw new DeviceUnavailableException($"{what} {grainKey} names no device");
}
