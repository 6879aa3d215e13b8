namespace Cluster.Grains;

/// <summary>The cluster's deployed models and where their replicas are; one per cluster (<see cref="ServingRegistry.Key"/>),
/// its state in grain storage. It re-places the replicas of silos that left.</summary>
[Alias("cluster.IServingRegistryGrain")]
public interface IServingRegistryGrain : IGrainWithStringKey
{
    /// <summary>Deploys (or redeploys) a model: places its replicas over the devices of the active silos, fewest
    /// replicas first, and loads each; throws <see cref="DeploymentException"/> naming what failed.</summary>
    [Alias("Deploy")]
    Task<ModelStatus> Deploy(ModelDeployment deployment);

    /// <summary>Changes a model's replica count at run time (activating or deactivating replicas).</summary>
    [Alias("Scale")]
    Task<ModelStatus> Scale(string model, int replicas);

    [Alias("Undeploy")]
    Task<bool> Undeploy(string model);

    /// <summary>Every model with its heads and replicas (each asked how it is; interleaved with a deploy in progress).</summary>
    [Alias("List"), Orleans.Concurrency.AlwaysInterleave]
    Task<IReadOnlyList<ModelStatus>> List();

    /// <summary>The grain keys of a model's replicas (the routers' view); null for a model that is not deployed.</summary>
    [Alias("Replicas"), Orleans.Concurrency.AlwaysInterleave]
    Task<IReadOnlyList<string>?> Replicas(string model);

    /// <summary>What a replica of <paramref name="model"/> loads, when <paramref name="replicaKey"/> is one of its
    /// replicas; null otherwise (a replica activated afresh asks, so it can load itself).</summary>
    [Alias("DeploymentFor"), Orleans.Concurrency.AlwaysInterleave]
    Task<ModelDeployment?> DeploymentFor(string model, string replicaKey);

    /// <summary>The silo this registry is active on (tests keep it alive when they kill one).</summary>
    [Alias("Home"), Orleans.Concurrency.AlwaysInterleave]
    Task<string> Home();

    /// <summary>The model the unnamed routes serve; null when none is deployed.</summary>
    [Alias("DefaultModel"), Orleans.Concurrency.AlwaysInterleave]
    Task<string?> DefaultModel();

    /// <summary>A router could not reach a replica: the registry checks membership and re-places it if its silo is gone.</summary>
    [Alias("ReportUnreachable")]
    Task ReportUnreachable(string model, string replicaKey);
}

public static class ServingRegistry
{
    public const string Key = "serving";
}

/// <summary>One replica of one model on one device (key <c>SILO/DEVICE/MODEL#N</c>, placed on that silo). It keeps the
/// model warm and batches what it is sent; reentrant, so requests queue in its batcher, not in Orleans.</summary>
[Alias("cluster.IReplicaGrain")]
public interface IReplicaGrain : IGrainWithStringKey
{
    [Alias("Load")]
    Task<ReplicaInfo> Load(ModelDeployment deployment);

    [Alias("Infer")]
    Task<InferenceReply> Infer(InferenceCall call);

    [Alias("Describe")]
    Task<ReplicaInfo> Describe();

    [Alias("Unload")]
    Task Unload();
}

/// <summary>Routes a model's requests (key: the model name) to its replicas on every silo, least outstanding first,
/// retrying once on another replica when one is unreachable. One activation per silo (a stateless worker).</summary>
[Alias("cluster.IModelRouterGrain")]
public interface IModelRouterGrain : IGrainWithStringKey
{
    [Alias("Infer")]
    Task<InferenceReply> Infer(InferenceCall call);
}
