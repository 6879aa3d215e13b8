namespace Cluster.Model.Checkpoints;

/// <summary>A checkpoint that cannot be read or does not fit the model; the message names the file or key.</summary>
public sealed class CheckpointException(string message) : Exception(message);
