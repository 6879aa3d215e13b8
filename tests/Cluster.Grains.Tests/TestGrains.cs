using System.Security.Cryptography;
using Cluster.Grains.Hosting;
using Cluster.Grains.Placement;
using Orleans.Runtime;

namespace Cluster.Grains.Tests;

/// <summary>Records every call id it is given, so a load test can check that none was lost or run twice.</summary>
public interface ITallyGrain : IGrainWithIntegerKey
{
    Task<string> Record(int call);
    Task<int[]> Calls();
}

public sealed class TallyGrain(ILocalSiloDetails silo) : Grain, ITallyGrain
{
    readonly List<int> _calls = [];

    public Task<string> Record(int call)
    {
        _calls.Add(call);
        return Task.FromResult(silo.SiloAddress.ToParsableString());
    }

    public Task<int[]> Calls() => Task.FromResult(_calls.ToArray());
}

/// <summary>A grain pinned to one device of one silo, as workers and replicas are.</summary>
public interface IDeviceHolderGrain : IGrainWithStringKey
{
    Task<string> Where();
}

[SiloKeyPlacement]
public sealed class DeviceHolderGrain(ILocalSiloDetails silo, LocalSilo local) : Grain, IDeviceHolderGrain
{
    public override Task OnActivateAsync(CancellationToken cancellation)
    {
        SiloKeyCheck.EnsureHere(this.GetPrimaryKeyString(), silo.SiloAddress, local);
        return Task.CompletedTask;
    }

    public Task<string> Where() => Task.FromResult(silo.SiloAddress.ToParsableString());
}

/// <summary>Takes tensor bytes announced by a control message: the call carries the transfer id, the bytes come
/// over this silo's bulk channel.</summary>
public interface IBulkSinkGrain : IGrainWithStringKey
{
    Task<string> Receive(Guid transfer, long expectedBytes);
}

[SiloKeyPlacement]
public sealed class BulkSinkGrain(SiloDataPlane dataPlane) : Grain, IBulkSinkGrain
{
    public async Task<string> Receive(Guid transfer, long expectedBytes)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var segments = await dataPlane.ReceiveAsync(transfer, timeout.Token);
        if (segments.Sum(s => (long)s.Length) != expectedBytes) throw new InvalidOperationException("wrong byte count");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var segment in segments) hash.AppendData(segment);
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
