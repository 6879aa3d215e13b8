namespace Cluster.Runtime.Diagnostics;

/// <summary>Built into every silo: answers where it lives and echoes bytes, so a deployment can be
/// checked end to end (client → gateway → any silo) before any application grain exists.</summary>
public interface IPingGrain : IGrainWithStringKey
{
    Task<string> Ping();
    Task<int> Echo(byte[] payload);
}

public sealed class PingGrain : Grain, IPingGrain
{
    public Task<string> Ping() => Task.FromResult(Silo.ToString());
    public Task<int> Echo(byte[] payload) => Task.FromResult(payload.Length);
}
