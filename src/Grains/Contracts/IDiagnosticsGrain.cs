namespace Cluster.Grains;

/// <summary>One per silo, keyed by the silo's address (<see cref="DeviceKey"/> without a device), and placed on it:
/// answers what the silo is and has, so a deployment can be checked end to end before any training or serving
/// grain exists.</summary>
[Alias("cluster.IDiagnosticsGrain")]
public interface IDiagnosticsGrain : IGrainWithStringKey
{
    [Alias("Report")]
    Task<SiloReport> Report();

    /// <summary>Returns <paramref name="value"/>: the round trip of a grain call to this silo and nothing else.</summary>
    [Alias("Ping")]
    Task<long> Ping(long value);

    /// <summary>Waits for bulk transfer <paramref name="transfer"/> on this silo's bulk channel and reports what came:
    /// a deployment's data plane checked end to end (and benchmarked). The bytes are dropped.</summary>
    [Alias("ReceiveProbe")]
    Task<BulkProbe> ReceiveProbe(Guid transfer, bool checksum);
}

/// <summary>What a probe transfer delivered: its size and, when asked for, the CRC-64 of its bytes in order.</summary>
[GenerateSerializer, Immutable, Alias("cluster.BulkProbe")]
public sealed record BulkProbe(
    [property: Id(0)] long Bytes,
    [property: Id(1)] int Segments,
    [property: Id(2)] ulong? Crc64);

[GenerateSerializer, Immutable, Alias("cluster.SiloReport")]
public sealed record SiloReport(
    [property: Id(0)] string Silo,
    [property: Id(1)] string Name,
    [property: Id(2)] IReadOnlyList<string> Devices,
    [property: Id(3)] string? BulkEndpoint,
    [property: Id(4)] int ProcessId,
    [property: Id(5)] DateTime StartedAt,
    [property: Id(6)] long WorkingSetBytes,
    [property: Id(7)] string OrleansVersion);
