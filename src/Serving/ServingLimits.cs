using Cluster.Model.Configuration;

namespace Cluster.Serving;

/// <summary>What one request may ask for. Over a limit is refused (413) naming it; an input over the token limit is
/// cut instead when the request sends <c>"truncate": true</c> (or <see cref="AutoTruncate"/> is set).</summary>
public sealed record ServingLimits
{
    /// <summary>Inputs in one request (TEI's <c>max_client_batch_size</c>).</summary>
    public int MaxInputsPerRequest { get; init; } = 32;

    /// <summary>Tokens in one input (the model's own limit applies as well).</summary>
    public int MaxInputTokens { get; init; } = 512;

    public bool AutoTruncate { get; init; }

    /// <summary>The longest input the model's position embeddings allow: RoBERTa's positions start after the padding
    /// index, so 514 positions hold 512 tokens.</summary>
    public int TokensFor(PretrainedConfig config)
    {
        var positions = config.model_type == "roberta" ? config.max_position_embeddings - (config.pad_token_id ?? 1) - 1 : config.max_position_embeddings;
        return Math.Min(MaxInputTokens, positions);
    }
}
