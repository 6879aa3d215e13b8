using System.CommandLine;
using Cluster.Client.Demo;

// `cluster <verb>`: every verb has --help and exits non-zero with a one-line reason on bad input.
var root = new RootCommand("Cluster: pretrain, fine-tune and serve RoBERTa and RoCBert");
root.Subcommands.Add(DemoCommand.Create());
try
{
    return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e) when (e is ArgumentException or IOException or Cluster.Torch.TorchException)
{
    Console.Error.WriteLine($"cluster: {e.Message}");
    return 1;
}
