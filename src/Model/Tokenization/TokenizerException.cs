namespace Cluster.Model.Tokenization;

/// <summary>A tokenizer file or request that cannot be used; the message names the file (and line) or the option.</summary>
public sealed class TokenizerException(string message) : Exception(message);
