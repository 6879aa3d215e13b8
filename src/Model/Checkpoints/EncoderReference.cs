using System.Security.Cryptography;
using System.Text.Json;
using Cluster.Model.Configuration;
using Cluster.Torch;
using static Cluster.Torch.torch.nn;

namespace Cluster.Model.Checkpoints;

/// <summary>
/// A head trained on a frozen encoder is saved without the encoder: its directory holds config.json, with this
/// reference under <c>encoder_reference</c> (the encoder's model directory and the SHA-256 of its weights file), and
/// a model.safetensors of the head's tensors alone (and the encoder's pooler, which belongs to the head here). Loading reads the encoder's weights from the referenced directory,
/// refusing them if their hash differs (the head was trained on other weights), then the head's.
/// </summary>
public sealed record EncoderReference(string Path, string Sha256)
{
    public const string ConfigKey = "encoder_reference";

    public static EncoderReference? Of(PretrainedConfig config)
    {
        if (!config.extra.TryGetValue(ConfigKey, out var node) || node.ValueKind == JsonValueKind.Null) return null;
        try
        {
            return new EncoderReference(node.GetProperty("path").GetString()!, node.GetProperty("sha256").GetString()!);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
        {
            throw new CheckpointException($"config.json: {ConfigKey} must be {{\"path\": ..., \"sha256\": ...}}");
        }
    }

    /// <summary>A reference to the encoder in <paramref name="encoderDirectory"/>, as it is now.</summary>
    public static EncoderReference For(string encoderDirectory)
    {
        return new EncoderReference(System.IO.Path.GetFullPath(encoderDirectory), Hash(Pretrained.WeightsPath(encoderDirectory)));
    }

    /// <summary>Writes the head of <paramref name="model"/> (every tensor outside <paramref name="basePrefix"/>) and a
    /// config.json that references this encoder; copies the tokenizer files of <paramref name="tokenizerDir"/>.</summary>
    public void SaveHead(Module model, PretrainedConfig config, string basePrefix, string dir, string? tokenizerDir = null)
    {
        Directory.CreateDirectory(dir);
        config.extra[ConfigKey] = JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["path"] = Path, ["sha256"] = Sha256 });
        try
        {
            using var scope = torch.NewDisposeScope();
            var head = StateDictLoader.Unique(model).Where(kv => IsHeadKey(kv.Key, basePrefix)).ToList();
            if (head.Count == 0) throw new CheckpointException($"{model.GetType().Name} has no tensor outside {basePrefix}: there is no head to save");
            config.Save(System.IO.Path.Combine(dir, Pretrained.ConfigFile));
            SafeTensors.Save(System.IO.Path.Combine(dir, Pretrained.WeightsFile), head, new Dictionary<string, string> { ["format"] = "pt" });
        }
        finally { config.extra.Remove(ConfigKey); }
        Pretrained.CopyTokenizerFiles(tokenizerDir, dir);
    }

    /// <summary>Loads the referenced encoder, then the head saved in <paramref name="headDirectory"/>.</summary>
    public LoadResult Load(Module model, string headDirectory, string basePrefix, Device? device, ScalarType? dtype)
    {
        var encoderDirectory = System.IO.Path.IsPathRooted(Path) ? Path : System.IO.Path.Combine(headDirectory, Path);
        if (!Directory.Exists(encoderDirectory))
            throw new CheckpointException($"{headDirectory}: its encoder {encoderDirectory} is not there (config.json's {ConfigKey})");
        // Checked before the tensors are read: other weights are refused without loading them.
        var weights = Pretrained.WeightsPath(encoderDirectory);
        var hash = Hash(weights);
        if (hash != Sha256)
            throw new CheckpointException($"{headDirectory}: the head was trained on an encoder whose weights hash {Sha256[..12]}…, but {weights} hashes {hash[..12]}…");
        using var scope = torch.NewDisposeScope();
        var (tensors, _) = Pretrained.ReadWeights(encoderDirectory);
        var prefix = basePrefix + ".";
        // The encoder's own head (a masked-LM directory's lm_head) is skipped, as from_pretrained skips it.
        var encoderResult = StateDictLoader.Load(model, tensors, basePrefix, strict: true, source: weights, allowNewHead: true);
        var (head, headFile) = Pretrained.ReadWeights(headDirectory);
        var own = model.state_dict();
        var expected = own.Keys.Where(k => !k.StartsWith(prefix, StringComparison.Ordinal)).ToHashSet();
        // The pooler is saved with the head (older head directories may lack it: the encoder's, or a fresh one, stays).
        var unexpected = head.Keys.Where(k => !expected.Contains(k) && !(own.ContainsKey(k) && IsHeadKey(k, basePrefix))).ToList();
        var missing = expected.Where(k => !head.ContainsKey(k)).ToList();
        if (unexpected.Count > 0 || missing.Count > 0)
            throw new CheckpointException($"{headFile} does not fit {model.GetType().Name}'s head: missing [{string.Join(", ", missing)}]; unexpected [{string.Join(", ", unexpected)}]");
        foreach (var (name, value) in head)
            if (!own[name].shape.SequenceEqual(value.shape))
                throw new CheckpointException($"{headFile}: '{name}' has shape [{string.Join(", ", value.shape)}] but the model expects [{string.Join(", ", own[name].shape)}]");
        model.load_state_dict(head, strict: false);
        if (device.HasValue || dtype.HasValue) model.to(device ?? Device.CPU, dtype);
        return new LoadResult([], encoderResult.unexpected_keys);
    }

    /// <summary>The head's tensors: everything outside the encoder, and the encoder's pooler, which a masked-LM
    /// encoder lacks and the head's training initialised (the loader counts it as a head for the same reason).</summary>
    static bool IsHeadKey(string key, string basePrefix) =>
        !key.StartsWith(basePrefix + ".", StringComparison.Ordinal) || key.StartsWith(basePrefix + ".pooler.", StringComparison.Ordinal);

    static string Hash(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
