using Cluster.Grains;

namespace Cluster.Client.Serving;

/// <summary>Deploys models through the serving registry and says where they answer.</summary>
public static class ModelDeployer
{
    /// <summary>"NAME=DIR" of --model and "MODEL:HEAD=DIR" of --head as deployments, every directory checked first.</summary>
    public static List<ModelDeployment> Parse(IReadOnlyList<string> models, IReadOnlyList<string> heads, int replicas, Func<ModelDeployment, ModelDeployment> settings)
    {
        if (models.Count == 0) throw new ArgumentException("--model: give at least one NAME=DIR");
        var parsed = models.Select(m =>
        {
            var (name, dir) = Split(m, '=', "--model", "NAME=DIR");
            return (name, dir: Directory(dir, $"--model {name}"));
        }).ToList();
        var repeated = parsed.GroupBy(m => m.name).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new ArgumentException($"--model: '{repeated.Key}' is given twice");
        var byModel = parsed.ToDictionary(m => m.name, _ => new List<HeadDeployment>());
        foreach (var h in heads)
        {
            var (target, dir) = Split(h, '=', "--head", "MODEL:HEAD=DIR");
            var (model, head) = Split(target, ':', "--head", "MODEL:HEAD=DIR");
            if (!byModel.TryGetValue(model, out var list)) throw new ArgumentException($"--head {h}: no --model named '{model}' (models: {string.Join(", ", byModel.Keys)})");
            list.Add(new HeadDeployment(head, Directory(dir, $"--head {model}:{head}")));
        }
        return parsed.Select((m, i) => settings(new ModelDeployment(m.name, m.dir, byModel[m.name], replicas) { Default = i == 0 })).ToList();
    }

    static (string, string) Split(string text, char separator, string option, string form)
    {
        var at = text.IndexOf(separator);
        if (at <= 0 || at == text.Length - 1) throw new ArgumentException($"{option} '{text}': expected {form}");
        return (text[..at], text[(at + 1)..]);
    }

    static string Directory(string dir, string what)
    {
        var full = Path.GetFullPath(dir);
        if (!File.Exists(Path.Combine(full, "config.json"))) throw new ArgumentException($"{what}: {full} is not a model directory (no config.json)");
        return full;
    }

    /// <summary>Deploys each model (loading every replica) and prints its replicas and heads.</summary>
    public static async Task<List<ModelStatus>> DeployAsync(IGrainFactory grains, IReadOnlyList<ModelDeployment> deployments, TextWriter output)
    {
        var registry = grains.GetGrain<IServingRegistryGrain>(ServingRegistry.Key);
        var statuses = new List<ModelStatus>();
        foreach (var deployment in deployments)
        {
            output.WriteLine($"deploying {deployment.Name} ({deployment.Replicas} replica{(deployment.Replicas == 1 ? "" : "s")}) from {deployment.Directory} ...");
            var status = await registry.Deploy(deployment);
            statuses.Add(status);
            foreach (var r in status.Replicas)
                output.WriteLine($"  replica {r.Key.Split('/').Last()} on {r.SiloName} {r.Device}: {(r.Ready ? "ready" : r.Error ?? "not ready")}");
            output.WriteLine($"  heads: {string.Join(", ", status.Heads.Select(h => h.Name == h.Task ? h.Name : $"{h.Name} ({h.Task})"))}");
        }
        return statuses;
    }
}
