using System.Text.Json;
using Cluster.Runtime.Messaging;

namespace Cluster.Runtime.Membership;

/// <summary>One operation on the development table, as silo 0 receives it at /internal/membership.</summary>
internal sealed record MembershipRequest(
    string Op,
    SiloEntry? Silo = null,
    SiloAddress? Address = null,
    GrainId? Grain = null,
    GrainLocation? Location = null,
    double MissedForSeconds = 0);

internal sealed record MembershipResponse(
    bool Ok = true,
    IReadOnlyList<SiloEntry>? Silos = null,
    IReadOnlyList<SiloAddress>? Addresses = null,
    GrainLocation? Location = null,
    IReadOnlyList<GrainLocation>? Locations = null);

/// <summary>Silo 0's side of development membership: its in-memory table, served to the others.</summary>
internal static class DevelopmentMembershipHost
{
    public static async Task<MembershipResponse> HandleAsync(IClusterMembership table, MembershipRequest request, CancellationToken cancellation)
    {
        switch (request.Op)
        {
            case "join": await table.JoinAsync(Require(request.Silo, "silo"), cancellation); return new();
            case "heartbeat": return new(Ok: await table.HeartbeatAsync(Require(request.Address, "address"), cancellation));
            case "leave": await table.LeaveAsync(Require(request.Address, "address"), cancellation); return new();
            case "silos": return new(Silos: await table.ReadSilosAsync(cancellation));
            case "declare-dead": return new(Addresses: await table.DeclareDeadAsync(TimeSpan.FromSeconds(request.MissedForSeconds), cancellation));
            case "lookup": return new(Location: await table.LookupAsync(RequireValue(request.Grain, "grain"), cancellation));
            case "register": return new(Location: await table.RegisterAsync(Require(request.Location, "location"), cancellation));
            case "unregister": await table.UnregisterAsync(Require(request.Location, "location"), cancellation); return new();
            case "pinned": return new(Locations: await table.ListPinnedAsync(cancellation));
            default: throw new MessageFormatException($"unknown membership operation '{request.Op}'");
        }
    }

    static T Require<T>(T? value, string name) where T : class =>
        value ?? throw new MessageFormatException($"membership request lacks \"{name}\"");

    static T RequireValue<T>(T? value, string name) where T : struct =>
        value ?? throw new MessageFormatException($"membership request lacks \"{name}\"");
}

/// <summary>The other silos' side of development membership: every operation is a call to silo 0.
/// If silo 0 is gone the cluster has no membership; that is what "development" means.</summary>
internal sealed class DevelopmentMembershipClient(Uri primary, SiloConnections connections) : IClusterMembership
{
    async Task<MembershipResponse> SendAsync(MembershipRequest request, CancellationToken cancellation)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(request, ClusterJson.Options);
        using var response = await connections.PostJsonAsync(new Uri(primary, "internal/membership"), body, cancellation).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new SiloUnavailableException($"development membership at {primary} answered {(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<MembershipResponse>(text, ClusterJson.Options)
            ?? throw new MessageFormatException($"development membership at {primary} sent an empty response");
    }

    public Task JoinAsync(SiloEntry self, CancellationToken c) => SendAsync(new("join", Silo: self), c);
    public async Task<bool> HeartbeatAsync(SiloAddress self, CancellationToken c) => (await SendAsync(new("heartbeat", Address: self), c)).Ok;
    public Task LeaveAsync(SiloAddress self, CancellationToken c) => SendAsync(new("leave", Address: self), c);
    public async Task<IReadOnlyList<SiloEntry>> ReadSilosAsync(CancellationToken c) => (await SendAsync(new("silos"), c)).Silos ?? [];
    public async Task<IReadOnlyList<SiloAddress>> DeclareDeadAsync(TimeSpan missedFor, CancellationToken c) =>
        (await SendAsync(new("declare-dead", MissedForSeconds: missedFor.TotalSeconds), c)).Addresses ?? [];
    public async Task<GrainLocation?> LookupAsync(GrainId grain, CancellationToken c) => (await SendAsync(new("lookup", Grain: grain), c)).Location;
    public async Task<GrainLocation?> RegisterAsync(GrainLocation proposed, CancellationToken c) => (await SendAsync(new("register", Location: proposed), c)).Location;
    public Task UnregisterAsync(GrainLocation location, CancellationToken c) => SendAsync(new("unregister", Location: location), c);
    public async Task<IReadOnlyList<GrainLocation>> ListPinnedAsync(CancellationToken c) => (await SendAsync(new("pinned"), c)).Locations ?? [];
}
