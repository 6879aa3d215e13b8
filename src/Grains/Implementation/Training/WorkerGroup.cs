using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Net;
using Cluster.DataPlane;
using Cluster.DataPlane.Reduction;
using Cluster.Torch.Distributed;
using Orleans.Runtime;

namespace Cluster.Grains.Training;

/// <summary>A leased device and the worker grain on it.</summary>
internal sealed record GroupMember(DeviceLease Lease, IWorkerGrain Grain)
{
    public string Name => $"{Lease.Device}@{Lease.SiloName}";
}

/// <summary>Some members' silos left the cluster while the group was at work.</summary>
internal sealed class WorkersLostException(IReadOnlyList<GroupMember> lost, string cause)
    : Exception($"lost {string.Join(", ", lost.Select(m => m.Name))} ({cause})")
{
    public IReadOnlyList<GroupMember> Lost { get; } = lost;
}

/// <summary>Calls every member of a group at once and tells a dead member from a failing one. A call to a worker whose
/// silo died may never answer (Orleans waits out the response timeout), and the survivors' collectives fail or time
/// out: so a call counts as ended when it answers or when membership declares its silo gone, and a group call that
/// failed throws <see cref="WorkersLostException"/> when any member's silo is gone, the first error otherwise.</summary>
internal sealed class GroupCalls(IClusterMembershipService membership, TimeSpan collectiveTimeout)
{
    /// <summary>How long a silo that stopped answering may take to be declared dead (about 2 s as the cluster tunes
    /// it, 13 s with Orleans' defaults).</summary>
    static readonly TimeSpan FailureDetection = TimeSpan.FromSeconds(30);
    static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    public bool IsActive(GroupMember member)
        => membership.CurrentSnapshot.GetSiloStatus(SiloAddress.FromParsableString(member.Lease.Silo)) == SiloStatus.Active;

    public Task AllAsync(IReadOnlyList<GroupMember> members, Func<GroupMember, int, Task> call)
        => AllAsync(members, async (m, rank) => { await call(m, rank); return true; });

    public async Task<T[]> AllAsync<T>(IReadOnlyList<GroupMember> members, Func<GroupMember, int, Task<T>> call)
    {
        var calls = members.Select((m, rank) => call(m, rank)).ToArray();
        var all = Task.WhenAll(calls);
        while (!all.IsCompleted && members.All(IsActive)) await Task.WhenAny(all, Task.Delay(Poll));
        if (all.IsCompletedSuccessfully) return await all;

        var deadline = DateTime.UtcNow + collectiveTimeout + FailureDetection;
        await Task.WhenAll(members.Select((m, i) => EndedOrGoneAsync(calls[i], m, deadline)));
        var failed = members.Where((_, i) => !calls[i].IsCompletedSuccessfully).ToList();
        var detectedBy = DateTime.UtcNow + FailureDetection;
        while (failed.All(IsActive) && DateTime.UtcNow < detectedBy) await Task.Delay(Poll);

        var lost = members.Where(m => !IsActive(m)).ToList();
        var error = calls.FirstOrDefault(c => c.IsFaulted)?.Exception?.InnerException;
        if (lost.Count > 0) throw new WorkersLostException(lost, error?.FirstLine() ?? "their silos left the cluster");
        if (error is not null) ExceptionDispatchInfo.Throw(error);
        throw new TimeoutException($"workers {string.Join(", ", failed.Select(m => m.Name))} did not answer within {collectiveTimeout + FailureDetection}");
    }

    async Task EndedOrGoneAsync(Task call, GroupMember member, DateTime deadline)
    {
        while (!call.IsCompleted && IsActive(member) && DateTime.UtcNow < deadline) await Task.WhenAny(call, Task.Delay(Poll));
    }
}

/// <summary>One formation of a job's group: its members in rank order, their accumulation, and where they meet, which
/// the coordinator hosts: a c10d TCPStore (<c>collective</c>) or a reduction server (<c>coordinator</c>). A group that
/// lost members is disbanded and a new one formed.</summary>
internal sealed class WorkerGroup : IAsyncDisposable
{
    readonly IDisposable? _store;
    readonly ReductionServer? _server;

    WorkerGroup(IReadOnlyList<GroupMember> members, int accumulation, IDisposable? store, ReductionServer? server)
        => (Members, Accumulation, _store, _server) = (members, accumulation, store, server);

    public IReadOnlyList<GroupMember> Members { get; }
    public int Accumulation { get; }

    /// <summary>Starts every member's replica (fresh, or from <paramref name="checkpoint"/>), joins them into one group,
    /// and checks that they hold identical weights.</summary>
    public static async Task<(WorkerGroup Group, WorkerReady Ready)> FormAsync(
        GroupCalls calls, TrainingJobSpec spec, IReadOnlyList<GroupMember> members, int accumulation, string host, string? checkpoint,
        BulkChannelSecurity? security)
    {
        var timeout = TimeSpan.FromSeconds(spec.CollectiveTimeoutSeconds);
        WorkerGroup group;
        int port;
        if (spec.AllReduce == "coordinator")
        {
            var server = new ReductionServer(new IPEndPoint(IPAddress.Parse(host), 0), members.Count,
                security ?? throw new InvalidOperationException("the coordinator all-reduce needs the silo's data-plane security (no bulk channel is configured)"), timeout);
            (group, port) = (new WorkerGroup(members, accumulation, null, server), server.EndPoint.Port);
        }
        else
        {
            var store = await Task.Run(() => new TCPStore(host, 0, isServer: true, timeout: timeout));
            (group, port) = (new WorkerGroup(members, accumulation, store, null), store.Port);
        }
        try
        {
            var ready = await calls.AllAsync(members, (m, rank) =>
                m.Grain.Join(new WorkerAssignment(spec, rank, members.Count, accumulation, host, port, checkpoint)));
            if (ready.Select(r => r.WeightChecksum).Distinct().Count() != 1)
                throw new InvalidOperationException($"replicas differ after the broadcast (checksums {string.Join(", ", ready.Select(r => r.WeightChecksum.ToString("x16", CultureInfo.InvariantCulture)))})");
            return (group, ready[0]);
        }
        catch
        {
            await group.DisposeAsync();
            throw;
        }
    }

    /// <summary>Ends every member's session (a member on a dead silo is gone already) and closes the rendezvous.</summary>
    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Members.Select(async m => { try { await m.Grain.Leave(); } catch (Exception) { } }));
        CloseRendezvous();
    }

    /// <summary>Closes the rendezvous only, leaving the members' sessions to whoever forms the next group.</summary>
    public void CloseRendezvous()
    {
        _store?.Dispose();
        _server?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
