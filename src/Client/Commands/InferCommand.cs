using System.CommandLine;
using Cluster.Model.Checkpoints;
using Cluster.Model.Configuration;
using Cluster.Model.Tasks;
using Cluster.Torch;

namespace Cluster.Client.Commands;

/// <summary>`cluster infer`: one forward pass of a head over inputs given as JSON, printed as JSON.</summary>
internal static class InferCommand
{
    public static Command Create()
    {
        var modelDir = new Option<DirectoryInfo>("--model-dir") { Description = "a Hugging Face model directory", Required = true };
        var head = new Option<string>("--head") { Description = "the head to run", Required = true };
        head.AcceptOnlyFromAmong(Heads.All.ToArray());
        var input = new Option<FileInfo>("--input")
        {
            Description = "JSON object of the head's forward arguments under Hugging Face's names, as nested arrays",
            Required = true,
        };
        var command = new Command("infer", "Run a model directory's head on inputs from a JSON file (eval mode) and print its outputs as JSON")
        {
            modelDir, head, input,
        };
        command.SetAction(parsed => Run(parsed.GetValue(modelDir)!, Heads.Parse(parsed.GetValue(head)!), parsed.GetValue(input)!));
        return command;
    }

    /// <summary>An input is at most this many numbers per tensor (for input_ids: 1024 sequences of 512 tokens), checked
    /// before any tensor is built; the model's own limits (max_position_embeddings, vocab_size) are checked after.</summary>
    public const long MaxInputElements = 1 << 19;

    public const long MaxInputBytes = 64 << 20;

    private static string ReadUtf8(string path)
    {
        try { return File.ReadAllText(path, new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true)); }
        catch (System.Text.DecoderFallbackException) { throw new ArgumentException($"{path}: not valid UTF-8"); }
    }

    /// <summary>
    /// Refuses an input whose forward pass and printed output would not fit in the memory this process may use, before
    /// any weight is read: the output is printed as JSON, about 40 bytes per number on the way out.
    /// </summary>
    private static void CheckMemory(PretrainedConfig config, Head head, Dictionary<string, Tensor> inputs, string dir)
    {
        if (!inputs.TryGetValue("input_ids", out var ids) || ids.dim() < 2) return; // the model names what is missing
        long tokens = ids.shape[^1], sequences = ids.numel() / Math.Max(1, tokens);
        long width = head is Head.MaskedLM or Head.CausalLM or Head.PreTraining ? config.vocab_size : config.hidden_size;
        double bytes = config.EstimatedParameters * 4 + config.EstimatedInferenceBytes(sequences, tokens, width) +
                       (double)sequences * tokens * width * 40;
        if (bytes > PretrainedConfig.ModelBytesLimit)
            throw new ArgumentException($"input_ids of shape [{string.Join(", ", ids.shape)}] would need about {bytes / (1 << 20):N0} MiB for {dir} " +
                                        $"(weights, activations and the printed output), more than the {PretrainedConfig.ModelBytesLimit / (1 << 20):N0} MiB " +
                                        "this process may use (CLUSTER_MAX_MODEL_BYTES sets the limit); send fewer or shorter sequences");
    }

    private static int Run(DirectoryInfo dir, Head head, FileInfo inputFile)
    {
        if (!inputFile.Exists) throw new IOException($"--input: no file {inputFile.FullName}");
        if (inputFile.Length > MaxInputBytes)
            throw new ArgumentException($"--input: {inputFile.FullName} is {inputFile.Length} bytes, more than the {MaxInputBytes} an input file may have");
        using var scope = torch.NewDisposeScope();
        var inputs = TensorJson.ParseObject(ReadUtf8(inputFile.FullName), inputFile.FullName, MaxInputElements);
        CheckMemory(Pretrained.LoadConfig(dir.FullName), head, inputs, dir.FullName);
        using var model = TaskModel.FromPretrained(dir.FullName, head, out var loaded);
        if (loaded.missing_keys.Count > 0)
            Console.Error.WriteLine($"cluster: warning: {dir.FullName} has no weights for [{string.Join(", ", loaded.missing_keys)}]: " +
                                    "they are freshly initialised, as transformers does");
        model.Module.eval();
        using var inference = torch.inference_mode();
        var output = TensorJson.Serialize(model.Run(inputs), out long nonFinite);
        if (nonFinite > 0)
            Console.Error.WriteLine($"cluster: warning: the output holds {nonFinite} NaN or infinite values, written as the strings \"NaN\", \"Infinity\", \"-Infinity\"");
        Console.WriteLine(output);
        return 0;
    }
}
