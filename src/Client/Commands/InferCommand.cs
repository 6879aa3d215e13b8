using System.CommandLine;
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

    private static int Run(DirectoryInfo dir, Head head, FileInfo inputFile)
    {
        if (!inputFile.Exists) throw new IOException($"--input: no file {inputFile.FullName}");
        using var scope = torch.NewDisposeScope();
        var inputs = TensorJson.ParseObject(File.ReadAllText(inputFile.FullName), inputFile.FullName);
        using var model = TaskModel.FromPretrained(dir.FullName, head, out var loaded);
        if (loaded.missing_keys.Count > 0)
            Console.Error.WriteLine($"cluster: warning: {dir.FullName} has no weights for [{string.Join(", ", loaded.missing_keys)}]: " +
                                    "they are freshly initialised, as transformers does");
        model.Module.eval();
        using var inference = torch.inference_mode();
        Console.WriteLine(TensorJson.Serialize(model.Run(inputs)));
        return 0;
    }
}
