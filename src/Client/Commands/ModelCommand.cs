using System.CommandLine;
using Cluster.Model.Configuration;
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
        var init = new Command("init", "Write a randomly initialised model directory (config.json + model.safetensors): " +
                                       "RobertaForMaskedLM for roberta, RoCBertForPreTraining for roc_bert") { arch, config, output, seed };
        init.SetAction(parsed => Init(parsed.GetValue(arch)!, parsed.GetValue(config)!, parsed.GetValue(output)!, parsed.GetValue(seed)));
        return new Command("model", "Create and inspect model directories") { init };
    }

    private static int Init(string arch, FileInfo configFile, DirectoryInfo output, ulong seed)
    {
        if (!configFile.Exists) throw new IOException($"--config: no file {configFile.FullName}");
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configFile.FullName)) as System.Text.Json.Nodes.JsonObject
            ?? throw new ArgumentException($"{configFile.FullName}: not a JSON object");
        var declared = node["model_type"]?.GetValue<string>();
        if (declared != null && declared != arch)
            throw new ArgumentException($"{configFile.FullName} says model_type '{declared}' but --arch is '{arch}'");
        node["model_type"] = arch;
        var config = PretrainedConfig.FromJson(node.ToJsonString(), configFile.FullName);

        torch.manual_seed(seed);
        using var model = TaskModel.Create(config, arch == "roberta" ? Head.MaskedLM : Head.PreTraining);
        model.SavePretrained(output.FullName);
        Console.WriteLine($"wrote {model.Architecture} ({model.Module.num_parameters():N0} parameters, seed {seed}) to {output.FullName}");
        return 0;
    }
}
