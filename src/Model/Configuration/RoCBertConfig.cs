namespace Cluster.Model.Configuration;

/// <summary>transformers.RoCBertConfig: BERT's fields plus the shape and pronunciation embeddings.</summary>
public sealed class RoCBertConfig : PretrainedConfig
{
    public RoCBertConfig()
    {
        vocab_size = 30522;
        pad_token_id = 0;
    }

    public override string model_type => "roc_bert";

    public bool enable_pronunciation { get; set; } = true;
    public bool enable_shape { get; set; } = true;
    public int pronunciation_embed_dim { get; set; } = 768;
    public int pronunciation_vocab_size { get; set; } = 910;
    public int shape_embed_dim { get; set; } = 512;
    public int shape_vocab_size { get; set; } = 24858;
    /// <summary>Concatenate word, shape and pronunciation embeddings and map back with map_inputs_layer; average them otherwise.</summary>
    public bool concat_input { get; set; } = true;

    /// <summary>The shared encoder's, plus the shape and pronunciation embeddings and the input map.</summary>
    public override double EstimatedParameters =>
        base.EstimatedParameters + (double)shape_vocab_size * shape_embed_dim + (double)pronunciation_vocab_size * pronunciation_embed_dim
        + (concat_input ? ((double)hidden_size + shape_embed_dim + pronunciation_embed_dim) * hidden_size : 0);

    public override void Validate()
    {
        Positive(pronunciation_embed_dim, nameof(pronunciation_embed_dim));
        Positive(pronunciation_vocab_size, nameof(pronunciation_vocab_size));
        Positive(shape_embed_dim, nameof(shape_embed_dim));
        Positive(shape_vocab_size, nameof(shape_vocab_size));
        base.Validate();
        if (!concat_input && enable_shape && shape_embed_dim != hidden_size)
            throw new ConfigException($"shape_embed_dim ({shape_embed_dim}) must equal hidden_size ({hidden_size}) when concat_input is false");
        if (!concat_input && enable_pronunciation && pronunciation_embed_dim != hidden_size)
            throw new ConfigException($"pronunciation_embed_dim ({pronunciation_embed_dim}) must equal hidden_size ({hidden_size}) when concat_input is false");
    }
}
