using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Model.Configuration;

namespace Cluster.Client.Commands;

/// <summary>A `--config` file of Hugging Face's field names, for the architecture `--arch` names.</summary>
internal static class ConfigFile
{
    /// <summary>Reads it, refusing one that declares the other model_type; a missing vocab_size takes
    /// <paramref name="defaultVocabSize"/> when one is given.</summary>
    public static PretrainedConfig Read(FileInfo file, string arch, int? defaultVocabSize = null)
    {
        if (!file.Exists) throw new IOException($"--config: no file {file.FullName}");
        JsonObject node;
        try { node = JsonNode.Parse(File.ReadAllText(file.FullName)) as JsonObject ?? throw new ArgumentException($"{file.FullName}: not a JSON object"); }
        catch (JsonException e) { throw new ArgumentException($"{file.FullName}: invalid JSON ({e.Message.Split(". ")[0]})"); }
        var declared = node["model_type"] is JsonValue v && v.TryGetValue(out string? name) ? name
            : node["model_type"] is null ? null : throw new ArgumentException($"{file.FullName}: model_type must be a string");
        if (declared is not null && declared != arch) throw new ArgumentException($"{file.FullName} says model_type '{declared}' but --arch is '{arch}'");
        node["model_type"] = arch;
        if (defaultVocabSize is { } vocab) node["vocab_size"] ??= vocab;
        return PretrainedConfig.FromJson(node.ToJsonString(), file.FullName);
    }
}
