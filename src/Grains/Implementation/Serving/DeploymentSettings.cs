using Cluster.Serving;
using Cluster.Serving.Batching;

namespace Cluster.Grains.Serving;

/// <summary>A deployment message as the serving layer's settings (0 in a message: the layer's default).</summary>
internal static class DeploymentSettings
{
    public static ModelDefinition Definition(ModelDeployment d) =>
        new(d.Name, d.Directory, d.Heads.Select(h => new HeadDefinition(h.Name, h.Directory)).ToList());

    public static BatchingOptions Batching(ModelDeployment d, int threads)
    {
        var defaults = new BatchingOptions();
        return new BatchingOptions
        {
            MaxBatchTokens = d.MaxBatchTokens > 0 ? d.MaxBatchTokens : defaults.MaxBatchTokens,
            MaxBatchRequests = d.MaxBatchRequests > 0 ? d.MaxBatchRequests : defaults.MaxBatchRequests,
            MaxQueuedRequests = d.MaxQueuedRequests > 0 ? d.MaxQueuedRequests : defaults.MaxQueuedRequests,
            MaxBatchDelay = TimeSpan.FromMilliseconds(Math.Max(0, d.MaxBatchDelayMilliseconds)),
            Threads = threads,
        };
    }

    public static ServingLimits Limits(ModelDeployment d)
    {
        var defaults = new ServingLimits();
        return new ServingLimits
        {
            MaxInputsPerRequest = d.MaxInputsPerRequest > 0 ? d.MaxInputsPerRequest : defaults.MaxInputsPerRequest,
            MaxInputTokens = d.MaxInputTokens > 0 ? d.MaxInputTokens : defaults.MaxInputTokens,
            AutoTruncate = d.AutoTruncate,
        };
    }

    /// <summary>Checks what can be checked before any replica is placed: names, counts, limits.</summary>
    public static void Validate(ModelDeployment d)
    {
        try
        {
            ModelDefinition.ValidateName(d.Name, "model");
            foreach (var h in d.Heads) ModelDefinition.ValidateName(h.Name, "head");
            var repeated = d.Heads.GroupBy(h => h.Name).FirstOrDefault(g => g.Count() > 1);
            if (repeated is not null) throw new ArgumentException($"head '{repeated.Key}' is given twice");
            if (d.Replicas < 1) throw new ArgumentException($"replicas must be at least 1, got {d.Replicas}");
            if (d.DeviceKind is not null and not ("cpu" or "cuda")) throw new ArgumentException($"unknown device kind '{d.DeviceKind}' (cpu, cuda)");
            Batching(d, 1).Validate();
        }
        catch (ArgumentException e) { throw new DeploymentException($"model {d.Name}: {e.Message}"); }
    }

    public static ServedHead Head(HeadDescription h) => new(h.Name, h.Task, h.SharesEncoder, h.Labels);
}
