namespace Cluster.Silo;

/// <summary>The silo cannot start with these settings on this machine: a port is taken, a file is missing, the
/// database refuses. The message is the one line the process prints.</summary>
public sealed class SiloStartException(string message, Exception? inner = null) : Exception(message, inner);
