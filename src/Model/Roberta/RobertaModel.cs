using Cluster.Model.Configuration;
using Cluster.Model.Encoder;
using Cluster.Torch;
using static Cluster.Torch.torch.nn;

namespace Cluster.Model.Roberta;

/// <summary>
/// Word + position + token-type embeddings. Positions count from pad_token_id + 1 over real tokens,
/// and padding keeps the padding position (HF's create_position_ids_from_input_ids).
/// </summary>
public sealed class RobertaEmbeddings : Module
{
    public readonly Embedding word_embeddings;
    public readonly Embedding position_embeddings;
    public readonly Embedding token_type_embeddings;
    public readonly LayerNorm LayerNorm;
    public readonly Dropout dropout;

    private readonly long pad;
    private readonly bool absolute;

    public RobertaEmbeddings(RobertaConfig config)
    {
        pad = config.pad_token_id ?? throw new ConfigException("pad_token_id is required for RoBERTa's position ids");
        absolute = config.position_embedding_type == "absolute";
        word_embeddings = new Embedding(config.vocab_size, config.hidden_size, padding_idx: pad);
        position_embeddings = new Embedding(config.max_position_embeddings, config.hidden_size, padding_idx: pad);
        token_type_embeddings = new Embedding(config.type_vocab_size, config.hidden_size);
        LayerNorm = new LayerNorm(config.hidden_size, config.layer_norm_eps);
        dropout = new Dropout(config.hidden_dropout_prob);
        RegisterComponents();
    }

    /// <summary>pad + 1, pad + 2, … over non-padding tokens (after past cached ones); pad where input_ids is pad.</summary>
    public Tensor PositionIds(Tensor input_ids, long past)
    {
        var mask = input_ids.ne(pad).to(ScalarType.Int32);
        var incremental = (mask.cumsum(1, ScalarType.Int32) + past) * mask;
        return incremental.to(ScalarType.Int64) + pad;
    }

    public Tensor forward(Tensor input_ids, Tensor? token_type_ids, Tensor? position_ids, long past)
    {
        position_ids ??= PositionIds(input_ids, past);
        if (absolute) InputChecks.CheckRange(position_ids, position_embeddings.weight.size(0), "position ids", "max_position_embeddings");
        token_type_ids ??= torch.zeros(input_ids.shape, ScalarType.Int64, input_ids.device);
        var x = word_embeddings.call(input_ids) + token_type_embeddings.call(token_type_ids);
        if (absolute) x = x + position_embeddings.call(position_ids);
        return dropout.call(LayerNorm.call(x));
    }
}

/// <summary>transformers.RobertaModel: embeddings → encoder → optional pooler; also a decoder (is_decoder, add_cross_attention).</summary>
public sealed class RobertaModel(RobertaConfig config, bool add_pooling_layer = true)
    : TransformerModel<RobertaConfig, RobertaEmbeddings>(config, c => new RobertaEmbeddings(c), add_pooling_layer)
{
    protected override Tensor Embed(EncoderInput input, long past) =>
        embeddings.forward(input.input_ids, input.token_type_ids, input.position_ids, past);
}
