using Cluster.Grains.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Cluster.Grains.Serving;

/// <summary>The deployed models and their replicas' keys, in grain storage (a registry re-activated elsewhere after
/// its silo died still knows them). Replicas go to the active devices with the fewest replicas; every few seconds, and
/// whenever a router reports one unreachable, replicas on silos that left are placed again on the silos that remain.</summary>
public sealed class ServingRegistryGrain(
    [PersistentState("serving", ClusterSiloBuilderExtensions.StorageName)] IPersistentState<ServingState> state,
    IClusterMembershipService membership,
    ILocalSiloDetails here,
    ILogger<ServingRegistryGrain> log) : Grain, IServingRegistryGrain
{
    static readonly TimeSpan HealPeriod = TimeSpan.FromSeconds(2);

    public override Task OnActivateAsync(CancellationToken cancellation)
    {
        this.RegisterGrainTimer(HealAsync, new GrainTimerCreationOptions(HealPeriod, HealPeriod) { KeepAlive = true });
        return Task.CompletedTask;
    }

    public async Task<ModelStatus> Deploy(ModelDeployment deployment)
    {
        DeploymentSettings.Validate(deployment);
        var old = state.State.Models.GetValueOrDefault(deployment.Name)?.Replicas ?? [];
        var keys = await PlaceAsync(deployment, deployment.Replicas, except: old);
        state.State.Models[deployment.Name] = new DeployedModel { Deployment = deployment, Replicas = keys };
        if (deployment.Default || state.State.DefaultModel is null) state.State.DefaultModel = deployment.Name;
        await state.WriteStateAsync();
        await UnloadAsync(old); // a redeploy: the new replicas answer before the old ones go
        return await StatusAsync(deployment.Name);
    }

    public async Task<ModelStatus> Scale(string model, int replicas)
    {
        var entry = Entry(model);
        if (replicas < 1) throw new DeploymentException($"model {model}: replicas must be at least 1, got {replicas}");
        entry.Deployment = entry.Deployment with { Replicas = replicas };
        if (replicas > entry.Replicas.Count)
            entry.Replicas.AddRange(await PlaceAsync(entry.Deployment, replicas - entry.Replicas.Count, except: []));
        var removed = entry.Replicas.Skip(replicas).ToList();
        entry.Replicas.RemoveRange(replicas, entry.Replicas.Count - replicas);
        await state.WriteStateAsync();
        await UnloadAsync(removed);
        return await StatusAsync(model);
    }

    public async Task<bool> Undeploy(string model)
    {
        if (!state.State.Models.Remove(model, out var entry)) return false;
        if (state.State.DefaultModel == model) state.State.DefaultModel = state.State.Models.Keys.Order(StringComparer.Ordinal).FirstOrDefault();
        await state.WriteStateAsync();
        await UnloadAsync(entry.Replicas);
        return true;
    }

    public async Task<IReadOnlyList<ModelStatus>> List()
    {
        var statuses = new List<ModelStatus>();
        foreach (var name in state.State.Models.Keys.Order(StringComparer.Ordinal).ToList()) statuses.Add(await StatusAsync(name));
        return statuses;
    }

    public Task<IReadOnlyList<string>?> Replicas(string model) =>
        Task.FromResult<IReadOnlyList<string>?>(state.State.Models.TryGetValue(model, out var entry) ? entry.Replicas.ToList() : null);

    public Task<ModelDeployment?> DeploymentFor(string model, string replicaKey) =>
        Task.FromResult(state.State.Models.TryGetValue(model, out var entry) && entry.Replicas.Contains(replicaKey) ? entry.Deployment : null);

    public Task<string> Home() => Task.FromResult(here.SiloAddress.ToParsableString());

    public Task<string?> DefaultModel() => Task.FromResult(state.State.DefaultModel);

    public async Task ReportUnreachable(string model, string replicaKey)
    {
        if (!state.State.Models.TryGetValue(model, out var entry) || !entry.Replicas.Contains(replicaKey)) return;
        if (ActiveSilos().Contains(DeviceKey.Parse(replicaKey).Silo))
        {
            // Its silo lives, so the replica grain answered without its model: an activation made afresh (after the
            // silo that held its directory entry died, say). Loading is idempotent on a replica that has its model.
            try { await GrainFactory.GetGrain<IReplicaGrain>(replicaKey).Load(entry.Deployment); }
            catch (Exception e) { log.LogWarning("model {Model}: could not reload replica {Replica}: {Reason}", model, replicaKey, e.Message); }
        }
        await HealAsync(CancellationToken.None);
    }

    /// <summary>Replaces the replicas of departed silos; a model that could not be placed now is tried again next time.</summary>
    async Task HealAsync(CancellationToken cancellation)
    {
        var active = ActiveSilos();
        var changed = false;
        foreach (var (name, entry) in state.State.Models)
        {
            var lost = entry.Replicas.Where(k => !active.Contains(DeviceKey.Parse(k).Silo)).ToList();
            var missing = entry.Deployment.Replicas - (entry.Replicas.Count - lost.Count);
            if (lost.Count == 0 && missing <= 0) continue;
            entry.Replicas.RemoveAll(lost.Contains);
            changed = true;
            try
            {
                entry.Replicas.AddRange(await PlaceAsync(entry.Deployment, missing, except: []));
                log.LogInformation("model {Model}: replaced {Lost} replica(s) of departed silos", name, lost.Count);
            }
            catch (DeploymentException e) { log.LogWarning("model {Model}: {Reason}; retrying", name, e.Message); }
        }
        if (changed) await state.WriteStateAsync();
    }

    /// <summary>Places <paramref name="count"/> new replicas on the active devices with the fewest replicas (of any
    /// model), spreading one model's replicas over silos, and loads them; all or none.</summary>
    async Task<List<string>> PlaceAsync(ModelDeployment deployment, int count, IReadOnlyCollection<string> except)
    {
        if (count <= 0) return [];
        var status = await GrainFactory.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key).GetStatus();
        var devices = status.Members.Where(m => m.Status == "Active")
            .SelectMany(m => m.Devices.Where(d => deployment.DeviceKind is null || DeviceName.Kind(d.Device) == deployment.DeviceKind)
                .Select(d => (silo: m.Silo, device: d.Device)))
            .ToList();
        if (devices.Count == 0)
            throw new DeploymentException($"model {deployment.Name}: no active {deployment.DeviceKind ?? "cpu or cuda"} device to place a replica on");
        var keys = state.State.Models.Values.SelectMany(m => m.Replicas).Where(k => !except.Contains(k)).Select(DeviceKey.Parse).ToList();
        var load = devices.ToDictionary(d => d, d => keys.Count(k => k.Silo == d.silo && k.Device == d.device));
        var ofModel = devices.Select(d => d.silo).Distinct().ToDictionary(s => s, _ => 0);
        var placed = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var pick = devices.OrderBy(d => load[d]).ThenBy(d => ofModel[d.silo]).ThenBy(d => d.silo, StringComparer.Ordinal).ThenBy(d => d.device, StringComparer.Ordinal).First();
            load[pick]++;
            ofModel[pick.silo]++;
            placed.Add(new DeviceKey(pick.silo, pick.device, $"{deployment.Name}#{state.State.NextReplica++}").ToString());
        }
        var loads = placed.Select(k => GrainFactory.GetGrain<IReplicaGrain>(k).Load(deployment)).ToList();
        try { await Task.WhenAll(loads); }
        catch
        {
            await UnloadAsync(placed.Where((_, i) => loads[i].IsCompletedSuccessfully).ToList());
            var failure = loads.First(t => t.IsFaulted).Exception!.InnerException!;
            throw failure as DeploymentException ?? new DeploymentException($"model {deployment.Name}: {failure.Message}");
        }
        return placed;
    }

    async Task UnloadAsync(IEnumerable<string> keys)
    {
        var active = ActiveSilos();
        await Task.WhenAll(keys.Where(k => active.Contains(DeviceKey.Parse(k).Silo)).Select(async k =>
        {
            try { await GrainFactory.GetGrain<IReplicaGrain>(k).Unload().WaitAsync(TimeSpan.FromSeconds(30)); }
            catch (Exception e) { log.LogWarning("replica {Replica} did not unload: {Reason}", k, e.Message); }
        }));
    }

    async Task<ModelStatus> StatusAsync(string model)
    {
        var entry = Entry(model);
        var active = ActiveSilos();
        var names = membership.CurrentSnapshot.Members.Values.ToDictionary(m => m.SiloAddress.ToParsableString(), m => m.Name);
        IReadOnlyList<ServedHead> heads = [];
        var replicas = new List<ReplicaStatus>();
        foreach (var key in entry.Replicas)
        {
            var k = DeviceKey.Parse(key);
            var name = names.GetValueOrDefault(k.Silo, k.Silo);
            if (!active.Contains(k.Silo))
            {
                replicas.Add(new ReplicaStatus(key, k.Silo, name, k.Device!, false, 0, "its silo is not an active member"));
                continue;
            }
            try
            {
                var info = await GrainFactory.GetGrain<IReplicaGrain>(key).Describe().WaitAsync(TimeSpan.FromSeconds(5));
                if (info.Heads.Count > 0) heads = info.Heads;
                replicas.Add(new ReplicaStatus(key, k.Silo, name, k.Device!, info.Heads.Count > 0, info.QueueDepth) { Latency = info.Latency });
            }
            catch (Exception e) { replicas.Add(new ReplicaStatus(key, k.Silo, name, k.Device!, false, 0, e.Message)); }
        }
        return new ModelStatus(model, entry.Deployment.Directory, heads, replicas, entry.Deployment.Replicas);
    }

    DeployedModel Entry(string model) => state.State.Models.TryGetValue(model, out var entry)
        ? entry
        : throw new DeploymentException($"no model '{model}' is deployed (deployed: {(state.State.Models.Count == 0 ? "none" : string.Join(", ", state.State.Models.Keys.Order()))})");

    HashSet<string> ActiveSilos() => membership.CurrentSnapshot.Members.Values
        .Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress.ToParsableString()).ToHashSet(StringComparer.Ordinal);
}

[GenerateSerializer, Alias("cluster.ServingState")]
public sealed class ServingState
{
    [Id(0)] public Dictionary<string, DeployedModel> Models { get; set; } = new(StringComparer.Ordinal);
    [Id(1)] public long NextReplica { get; set; }
    [Id(2)] public string? DefaultModel { get; set; }
}

[GenerateSerializer, Alias("cluster.DeployedModel")]
public sealed class DeployedModel
{
    [Id(0)] public ModelDeployment Deployment { get; set; } = null!;
    [Id(1)] public List<string> Replicas { get; set; } = [];
}
