using System.CommandLine;
using Cluster.Client.Commands;

// `cluster <verb>`: every verb has --help and exits non-zero with a one-line reason on bad input.
var root = new RootCommand("Cluster: pretrain, fine-tune and serve RoBERTa and RoCBert");
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(ModelCommand.Create());
root.Subcommands.Add(InferCommand.Create());
root.Subcommands.Add(TokenizeCommand.Create());
root.Subcommands.Add(TokenizerCommand.Create());
root.Subcommands.Add(StatusCommand.Create());
root.Subcommands.Add(DataCommand.Create());
root.Subcommands.Add(PretrainCommand.Create());
root.Subcommands.Add(FinetuneCommand.Create());
root.Subcommands.Add(JobsCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(PredictCommand.Create());
// --verbose (or CLUSTER_DEBUG=1) adds the stack trace to an error; without it every error is one line.
var verbose = args.Contains("--verbose") || Environment.GetEnvironmentVariable("CLUSTER_DEBUG") == "1";
var parsed = root.Parse(args.Where(a => a != "--verbose").ToArray());
if (parsed.Errors.Count > 0)
{
    // Bad usage: exit 2, as getopt-style tools do (bad input is 1).
    foreach (var error in parsed.Errors) Console.Error.WriteLine($"cluster: {error.Message}");
    var verb = new List<string>();
    for (var r = parsed.CommandResult; r.Parent is System.CommandLine.Parsing.CommandResult parent; r = parent) verb.Insert(0, r.Command.Name);
    Console.Error.WriteLine($"cluster: see 'cluster {string.Join(' ', [.. verb, "--help"])}'");
    return 2;
}
try
{
    // Ctrl-C cancels the action; stopping an in-process cluster (silos, replicas, a job) takes longer than the default 2 s.
    return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = TimeSpan.FromMinutes(1) });
}
catch (Exception thrown)
{
    var e = thrown is AggregateException aggregate ? aggregate.Flatten().InnerExceptions[0] : thrown;
    var expected = e is ArgumentException or IOException or UnauthorizedAccessException or Cluster.Torch.TorchException
        or Cluster.Model.Configuration.ConfigException or Cluster.Model.Checkpoints.CheckpointException
        or Cluster.Model.Tokenization.TokenizerException or Cluster.Client.Connection.ClusterConnectException
        or Cluster.Training.Data.CorpusException or Cluster.Training.FineTuning.FineTuningDataException or Cluster.Silo.SiloStartException
        or Cluster.Grains.DeploymentException or Orleans.Runtime.OrleansException or TimeoutException;
    // Anything else is our bug, still said in one line (its type names it for a report), never a crash dump.
    Console.Error.WriteLine(expected ? $"cluster: {e.Message}" : $"cluster: unexpected {e.GetType().Name}: {e.Message}");
    if (verbose) Console.Error.WriteLine(thrown);
    return 1;
}
