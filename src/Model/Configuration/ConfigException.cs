namespace Cluster.Model.Configuration;

/// <summary>A config that cannot describe a model; the message names the field.</summary>
public sealed class ConfigException(string message) : Exception(message);
