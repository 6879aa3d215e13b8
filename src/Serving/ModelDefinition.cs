namespace Cluster.Serving;

/// <summary>A model to serve: one Hugging Face directory for the encoder (its own head, if any, is served too) and
/// named heads, each a directory: a full fine-tuned model, or a head saved on a frozen encoder
/// (<c>encoder_reference</c>). Heads whose reference is this model's directory share its encoder: one pass per batch.</summary>
public sealed record ModelDefinition(string Name, string Directory, IReadOnlyList<HeadDefinition> Heads)
{
    /// <summary>Model and head names appear in URLs and grain keys: letters, digits, '.', '_' and '-'.</summary>
    public static void ValidateName(string name, string what)
    {
        if (name.Length == 0 || name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            throw new ArgumentException($"{what} '{name}' is not a valid name (1–64 of letters, digits, '.', '_', '-')");
    }
}

public sealed record HeadDefinition(string Name, string Directory);
