using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cluster.Model.Checkpoints;
using Cluster.Torch;

namespace Cluster.Training.Checkpoints;

/// <summary>What a training checkpoint records beside the tensors.</summary>
public sealed record TrainerState
{
    [JsonPropertyName("step")] public required long Step { get; init; }
    [JsonPropertyName("tokens")] public required long Tokens { get; init; }
    [JsonPropertyName("loss")] public required double Loss { get; init; }
    [JsonPropertyName("job")] public required string Job { get; init; }
}

/// <summary>Training checkpoints under <c>OUT/checkpoints/step-NNNNNNNN/</c>: the weights (Hugging Face keys), the AdamW
/// state, <c>trainer_state.json</c>. A checkpoint is written into <c>step-N.partial</c> and renamed when complete (the
/// rename is atomic), so a job killed while saving leaves no directory that <see cref="Latest"/> would load.</summary>
public static class TrainingCheckpoint
{
    const string Prefix = "step-";
    const string Weights = "model.safetensors", OptimizerState = "optimizer.safetensors", State = "trainer_state.json";
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string Save(string checkpointsDirectory, DataParallelReplica replica, TrainerState state)
    {
        var name = $"{Prefix}{state.Step:D8}";
        var final = Path.Combine(checkpointsDirectory, name);
        var partial = final + ".partial";
        if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
        Directory.CreateDirectory(partial);
        using (var scope = torch.NewDisposeScope())
        {
            SafeTensors.Save(Path.Combine(partial, Weights), replica.Model.Module.state_dict());
            SafeTensors.Save(Path.Combine(partial, OptimizerState), replica.Optimizer.state_dict(replica.Parameters.Select(p => (p.Name, p.Parameter))));
        }
        using (var file = new FileStream(Path.Combine(partial, State), FileMode.Create, FileAccess.Write))
        {
            JsonSerializer.Serialize(file, state, Json);
            file.Flush(flushToDisk: true);
        }
        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(partial, final);
        return final;
    }

    /// <summary>The newest complete checkpoint, or null.</summary>
    public static string? Latest(string checkpointsDirectory)
    {
        if (!Directory.Exists(checkpointsDirectory)) return null;
        return Directory.EnumerateDirectories(checkpointsDirectory, Prefix + "*")
            .Where(d => long.TryParse(Path.GetFileName(d).AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .Where(d => File.Exists(Path.Combine(d, State)) && File.Exists(Path.Combine(d, Weights)) && File.Exists(Path.Combine(d, OptimizerState)))
            .OrderBy(d => d, StringComparer.Ordinal)
            .LastOrDefault();
    }

    public static TrainerState ReadState(string checkpoint)
    {
        var path = Path.Combine(checkpoint, State);
        try { return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path), Json) ?? throw new CheckpointException($"{path}: empty"); }
        catch (JsonException e) { throw new CheckpointException($"{path}: {e.Message}"); }
    }

    /// <summary>Loads weights and optimizer state into <paramref name="replica"/> and moves its schedule to the step.</summary>
    public static TrainerState Load(string checkpoint, DataParallelReplica replica)
    {
        var state = ReadState(checkpoint);
        using var scope = torch.NewDisposeScope();
        var weights = SafeTensors.Load(Path.Combine(checkpoint, Weights), replica.Device);
        var result = replica.Model.Module.load_state_dict(weights, strict: false);
        if (result.missing_keys.Count > 0 || result.unexpected_keys.Count > 0)
            throw new CheckpointException($"{checkpoint}: weights do not fit the model (missing {string.Join(", ", result.missing_keys.Take(3))}; unexpected {string.Join(", ", result.unexpected_keys.Take(3))})");
        replica.Optimizer.load_state_dict(replica.Parameters.Select(p => (p.Name, p.Parameter)), SafeTensors.Load(Path.Combine(checkpoint, OptimizerState), replica.Device));
        while (replica.Scheduler.last_step < state.Step) replica.Scheduler.step();
        return state;
    }
}
