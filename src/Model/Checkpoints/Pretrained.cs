using Cluster.Model.Configuration;
using Cluster.Torch;
using static Cluster.Torch.torch.nn;

namespace Cluster.Model.Checkpoints;

/// <summary>
/// Hugging Face model directories: config.json + model.safetensors (+ tokenizer files), read and written.
/// </summary>
public static class Pretrained
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";
    public const string PickleWeightsFile = "pytorch_model.bin";

    /// <summary>Tokenizer files a model directory may carry; save_pretrained copies those present.</summary>
    public static readonly string[] TokenizerFiles =
        ["vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
         "word_shape.json", "word_pronunciation.json"];

    public static PretrainedConfig LoadConfig(string dir) => PretrainedConfig.Load(Path.Combine(dir, ConfigFile));

    /// <summary>
    /// Reads the directory's weights (model.safetensors, else pytorch_model.bin) into <paramref name="model"/>,
    /// then converts to device and dtype.
    /// </summary>
    public static LoadResult LoadWeights(Module model, string dir, string basePrefix, Device? device = null, ScalarType? dtype = null,
        bool allowNewHead = false, bool ignoreMismatchedSizes = false)
    {
        using var scope = torch.NewDisposeScope();
        var (tensors, path) = ReadWeights(dir);
        var result = StateDictLoader.Load(model, tensors, basePrefix, strict: true, source: path, allowNewHead: allowNewHead, ignoreMismatchedSizes: ignoreMismatchedSizes);
        if (device.HasValue || dtype.HasValue) model.to(device ?? Device.CPU, dtype);
        return result;
    }

    /// <summary>The weights file of a model directory (model.safetensors, else pytorch_model.bin), without reading it.</summary>
    public static string WeightsPath(string dir)
    {
        if (!Directory.Exists(dir)) throw new CheckpointException($"{dir}: no such model directory");
        foreach (var name in new[] { WeightsFile, PickleWeightsFile })
            if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
        throw new CheckpointException($"{dir}: neither {WeightsFile} nor {PickleWeightsFile}");
    }

    /// <summary>The checkpoint's tensors and the file they came from; safetensors is preferred, as HF does.</summary>
    public static (OrderedDictionary<string, Tensor> tensors, string path) ReadWeights(string dir)
    {
        var path = WeightsPath(dir);
        return (path.EndsWith(WeightsFile, StringComparison.Ordinal) ? SafeTensors.Load(path) : TorchPickle.Load(path), path);
    }

    /// <summary>
    /// Writes config.json and model.safetensors (each tensor once; tied copies left out, as HF does),
    /// and copies the tokenizer files of <paramref name="tokenizerDir"/> when given.
    /// </summary>
    public static void Save(Module model, PretrainedConfig config, string dir, string? tokenizerDir = null)
    {
        Directory.CreateDirectory(dir);
        config.Save(Path.Combine(dir, ConfigFile));
        SafeTensors.Save(Path.Combine(dir, WeightsFile), StateDictLoader.Unique(model),
            new Dictionary<string, string> { ["format"] = "pt" });
        CopyTokenizerFiles(tokenizerDir, dir);
    }

    /// <summary>Copies the tokenizer files present in <paramref name="tokenizerDir"/> (when given) into <paramref name="dir"/>.</summary>
    public static void CopyTokenizerFiles(string? tokenizerDir, string dir)
    {
        if (tokenizerDir is null || Path.GetFullPath(tokenizerDir) == Path.GetFullPath(dir)) return;
        foreach (var file in TokenizerFiles)
        {
            var src = Path.Combine(tokenizerDir, file);
            if (File.Exists(src)) File.Copy(src, Path.Combine(dir, file), overwrite: true);
        }
    }
}
