using System.Collections.Concurrent;
using Cluster.Serving;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace Cluster.Grains.Serving;

/// <summary>Sends each request of one model to the replica with the fewest requests outstanding from this silo, among
/// those on active silos. A replica that cannot be reached (its silo died, the call failed) is reported to the registry
/// and the request is retried once on another: inference has no side effects. One activation per silo.</summary>
[StatelessWorker(1), Reentrant]
public sealed class ModelRouterGrain(IClusterMembershipService membership, ILogger<ModelRouterGrain> log) : Grain, IModelRouterGrain
{
    static readonly TimeSpan RefreshPeriod = TimeSpan.FromSeconds(2);

    readonly ConcurrentDictionary<string, int> _outstanding = new(StringComparer.Ordinal);
    IReadOnlyList<string>? _replicas;
    DateTime _refreshed = DateTime.MinValue;
    Task? _refreshing;
    int _turn;

    public async Task<InferenceReply> Infer(InferenceCall call)
    {
        var model = this.GetPrimaryKeyString();
        await RefreshAsync(force: false);
        if (_replicas is null)
            return new InferenceReply(null, ServingErrorTypes.UnknownModel, $"no model '{model}' is deployed");
        string? first = null;
        InferenceReply? refused = null;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var replica = Pick(exclude: first);
            if (replica is null)
                return new InferenceReply(null, ServingErrorTypes.Unavailable,
                    attempt == 0 ? $"model {model} has no replica on an active silo" : $"model {model}: replica {first} failed and no other replica is available");
            _outstanding.AddOrUpdate(replica, 1, (_, n) => n + 1);
            string reason;
            try
            {
                var reply = await GrainFactory.GetGrain<IReplicaGrain>(replica).Infer(call) with { Replica = replica };
                // A replica that answers "unavailable" (no model loaded) is as good as unreachable: report it, try another.
                if (reply.ErrorType != ServingErrorTypes.Unavailable) return reply;
                (refused, reason) = (reply, reply.Error ?? "unavailable");
            }
            catch (Exception e) { reason = e.Message; }
            finally { _outstanding.AddOrUpdate(replica, 0, (_, n) => n - 1); }
            log.LogWarning("model {Model}: replica {Replica} failed ({Reason}); {Next}", model, replica, reason, attempt == 0 ? "retrying on another" : "giving up");
            first = replica;
            _ = ReportAsync(model, replica);
        }
        await RefreshAsync(force: true);
        return refused ?? new InferenceReply(null, ServingErrorTypes.Unavailable, $"model {model}: two replicas failed in turn");
    }

    string? Pick(string? exclude)
    {
        var active = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active)
            .Select(m => m.SiloAddress.ToParsableString()).ToHashSet(StringComparer.Ordinal);
        var candidates = (_replicas ?? []).Where(r => r != exclude && active.Contains(DeviceKey.Parse(r).Silo)).ToList();
        if (candidates.Count == 0) return null;
        var least = candidates.Min(r => _outstanding.GetValueOrDefault(r));
        var tied = candidates.Where(r => _outstanding.GetValueOrDefault(r) == least).ToList();
        return tied[(int)((uint)Interlocked.Increment(ref _turn) % tied.Count)];
    }

    async Task ReportAsync(string model, string replica)
    {
        try
        {
            await GrainFactory.GetGrain<IServingRegistryGrain>(ServingRegistry.Key).ReportUnreachable(model, replica);
            await RefreshAsync(force: true);
        }
        catch (Exception e) { log.LogWarning("model {Model}: could not report replica {Replica}: {Reason}", model, replica, e.Message); }
    }

    /// <summary>The replica list from the registry, at most every couple of seconds (one fetch at a time).</summary>
    Task RefreshAsync(bool force)
    {
        if (!force && _replicas is not null && DateTime.UtcNow - _refreshed < RefreshPeriod) return Task.CompletedTask;
        return _refreshing ??= Fetch();

        async Task Fetch()
        {
            try
            {
                _replicas = await GrainFactory.GetGrain<IServingRegistryGrain>(ServingRegistry.Key).Replicas(this.GetPrimaryKeyString());
                _refreshed = DateTime.UtcNow;
            }
            // The registry lives on one silo; while that silo is dying (not yet declared dead, so not re-activated
            // elsewhere) the replicas already known keep serving. Only a router that never had a list fails.
            catch (Exception e) when (_replicas is not null)
            {
                log.LogWarning("model {Model}: the serving registry did not answer ({Reason}); routing on the replicas known", this.GetPrimaryKeyString(), e.Message);
            }
            finally { _refreshing = null; }
        }
    }
}
