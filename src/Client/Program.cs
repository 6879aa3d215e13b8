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
try
{
    // Ctrl-C cancels the action; stopping an in-process cluster (silos, replicas, a job) takes longer than the default 2 s.
    return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = TimeSpan.FromMinutes(1) });
}
catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or Cluster.Torch.TorchException
                               or Cluster.Model.Configuration.ConfigException or Cluster.Model.Checkpoints.CheckpointException
                               or Cluster.Model.Tokenization.TokenizerException
                               or Cluster.Client.Connection.ClusterConnectException or Cluster.Training.Data.CorpusException or Cluster.Training.FineTuning.FineTuningDataException or Cluster.Silo.SiloStartException or Cluster.Grains.DeploymentException or Orleans.Runtime.OrleansException or TimeoutException)
{
    Console.Error.WriteLine($"cluster: {e.Message}");
    return 1;
}
