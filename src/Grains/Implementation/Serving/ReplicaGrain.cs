using Cluster.Grains.Hosting;
using Cluster.Grains.Placement;
using Cluster.Serving;
using Cluster.Torch;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace Cluster.Grains.Serving;

/// <summary>A replica on the device its key names. Thin: it owns a <see cref="ModelServer"/> (whose thread owns the
/// model) and passes requests to it; reentrant, so concurrent requests meet in the server's batcher. Refusals come
/// back as data (<see cref="InferenceReply.ErrorType"/>).</summary>
[SiloKeyPlacement, Reentrant]
public sealed class ReplicaGrain(ILocalSiloDetails silo, LocalSilo local) : Grain, IReplicaGrain
{
    string _device = "cpu";
    ModelServer? _server;
    ModelDeployment? _deployment;

    public override Task OnActivateAsync(CancellationToken cancellation)
    {
        _device = SiloKeyCheck.DeviceHere(this.GetPrimaryKeyString(), silo.SiloAddress, local, "replica");
        return Task.CompletedTask;
    }

    /// <summary>
    /// A replica activated afresh while the registry still lists it (its directory entry was on a silo that died, and
    /// Orleans made a new activation): it loads what the registry says it serves, once, while requests wait.
    /// </summary>
    async Task<bool> LoadFromRegistryAsync()
    {
        if (_selfLoad is null)
        {
            var key = this.GetPrimaryKeyString();
            var name = DeviceKey.Parse(key).Name;
            var model = name?[..Math.Max(0, name.LastIndexOf('#'))];
            if (string.IsNullOrEmpty(model)) return false;
            ModelDeployment? deployment;
            try { deployment = await GrainFactory.GetGrain<IServingRegistryGrain>(ServingRegistry.Key).DeploymentFor(model, key); }
            catch (Exception e) when (e is OrleansException or TimeoutException) { return false; }
            if (deployment is null || _server is not null) return _server is not null;
            _selfLoad ??= Load(deployment);
        }
        try { await _selfLoad; }
        catch (DeploymentException) { _selfLoad = null; return false; }
        return _server is not null;
    }

    public async Task<ReplicaInfo> Load(ModelDeployment deployment)
    {
        if (_server is not null && deployment == _deployment) return Info(_server);
        await StopAsync();
        var device = _device == "cpu" ? Device.CPU : Device.Parse(_device);
        // One core is left to the host (Kestrel, Orleans, tokenizing): libtorch's threads spin while they wait, and with
        // every core theirs, the threads that hand them work wait in turn (measured, bench/run.sh serve: on 2 cores,
        // 2 threads gave p99 36× the median; 1 thread, 2.5× and 3.7× the throughput).
        var threads = deployment.Threads > 0 ? deployment.Threads : Math.Max(1, (Environment.ProcessorCount - 1) / Math.Max(1, local.Devices.Count));
        try
        {
            _server = await ModelServer.StartAsync(DeploymentSettings.Definition(deployment), device, this.GetPrimaryKeyString(),
                DeploymentSettings.Batching(deployment, threads), DeploymentSettings.Limits(deployment),
                device.Type == DeviceType.CUDA ? ScalarType.BFloat16 : null);
        }
        catch (Exception e) when (e is not DeploymentException)
        {
            throw new DeploymentException($"model {deployment.Name}: replica on {silo.SiloAddress.ToParsableString()}/{_device} failed to load: {e.Message}");
        }
        _deployment = deployment;
        DelayDeactivation(TimeSpan.FromDays(3650)); // a warm replica is not idle between requests
        return Info(_server);
    }

    Task<ReplicaInfo>? _selfLoad;

    public async Task<InferenceReply> Infer(InferenceCall call)
    {
        if (_server is null && await LoadFromRegistryAsync() is false)
            return new InferenceReply(null, ServingErrorTypes.Unavailable, $"replica {this.GetPrimaryKeyString()} has no model loaded");
        var server = _server!;
        try { return new InferenceReply(await server.InferAsync(call.Target, call.Body)); }
        catch (ServingException e) { return new InferenceReply(null, e.ErrorType, e.Message); }
        catch (Exception e) when (e is TorchException or Cluster.Model.Tokenization.TokenizerException or ArgumentException)
        {
            // Input the checks above let through but the model refused (an id out of range): still the request's fault.
            return new InferenceReply(null, ServingErrorTypes.InvalidInput, e.Message);
        }
    }

    public Task<ReplicaInfo> Describe() =>
        Task.FromResult(_server is { } s ? Info(s) : new ReplicaInfo([], 0));

    public async Task Unload()
    {
        await StopAsync();
        DeactivateOnIdle();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellation) => await StopAsync();

    async Task StopAsync()
    {
        if (_server is not { } server) return;
        _server = null;
        _deployment = null;
        await Task.Run(server.Dispose); // joins the replica's thread: not on the scheduler's
    }

    static ReplicaInfo Info(ModelServer s) => new(s.Heads.Select(DeploymentSettings.Head).ToList(), s.QueueDepth)
    {
        Latency = s.Latency.Summary() is { } l ? new ReplicaLatency(l.Requests, l.P50Seconds, l.P99Seconds) : null,
    };
}
