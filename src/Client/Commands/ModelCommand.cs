using System.CommandLine;
using Cluster.Model.Tasks;
using Cluster.Torch;

namespace Cluster.Client.Commands;

/// <summary>`cluster model init`: a randomly initialised Hugging Face model directory.</summary>
internal static class ModelCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = "roberta or roc_bert", Required = true };
        arch.AcceptOnlyFromAmong("roberta", "roc_bert");
        var config = new Option<FileInfo>("--config") { Description = "config.json with Hugging Face's field names (model_type optional)", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "directory to write", Required = true };
        var seed = new Option<ulong>("--seed") { Description = "random seed of the initialisation", DefaultValueFactory = _ => 0 };
        var tokenizer = new Option<DirectoryInfo?>("--tokenizer") { Description = "a tokenizer directory whose files are copied in (so the model can be served or fine-tuned); vocab_size defaults to its size" };
        var init = new Command("init", "Write a randomly initialised model directory (config.json + model.safetensors): " +
                                       "RobertaForMaskedLM for roberta, RoCBertForPreTraining for roc_bert") { arch, config, output, seed, tokenizer };
        init.SetAction(parsed => Init(parsed.GetValue(arch)!, parsed.GetValue(config)!, parsed.GetValue(output)!, parsed.GetValue(seed), parsed.GetValue(tokenizer)));
        return new Command("model", "Create and inspect model directories") { init };
    }

    private static int Init(string arch, FileInfo configFile, DirectoryInfo output, ulong seed, DirectoryInfo? tokenizer)
    {
        // Checked before anything is written: the tokenizer must load and fit the config's vocabulary, whose size
        // defaults to the tokenizer's (as pretrain's does), so a model's predictions are all ids its tokenizer knows.
        var loaded = tokenizer is null ? null : DataCommand.LoadTokenizer(tokenizer.FullName, arch);
        var config = ConfigFile.Read(configFile, arch, loaded?.VocabSize);
        if (loaded is not null && loaded.VocabSize > config.vocab_size)
            throw new ArgumentException($"--tokenizer: {tokenizer!.FullName} has {loaded.VocabSize} tokens, more than the config's vocab_size {config.vocab_size}");

        torch.manual_seed(seed);
        using var model = TaskModel.Create(config, arch == "roberta" ? Head.MaskedLM : Head.PreTraining);
        model.SavePretrained(output.FullName, tokenizer?.FullName);
        Console.WriteLine($"wrote {model.Architecture} ({model.Module.num_parameters():N0} parameters, seed {seed}) to {output.FullName}");
        return 0;
    }
}
