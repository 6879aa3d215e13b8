using Cluster.Model.Configuration;
using Cluster.Model.Encoder;
using Cluster.Torch;
using static Cluster.Torch.torch.nn;

namespace Cluster.Model.RoCBert;

/// <summary>
/// Word, glyph-shape and pronunciation embeddings. With concat_input the three are concatenated and
/// mapped back to the hidden size (map_inputs_layer) before position and token-type embeddings and
/// LayerNorm; otherwise the word embeddings go through LayerNorm first and the shape and
/// pronunciation embeddings given are averaged in after it, as HF's RoCBertEmbeddings does.
/// </summary>
public sealed class RoCBertEmbeddings : Module
{
    public readonly Embedding word_embeddings;
    public readonly Embedding pronunciation_embed;
    public readonly Embedding shape_embed;
    public readonly Embedding position_embeddings;
    public readonly Embedding token_type_embeddings;
    public readonly Linear? map_inputs_layer;
    public readonly LayerNorm LayerNorm;
    public readonly Dropout dropout;

    private readonly bool enableShape, enablePronunciation, absolute;

    public RoCBertEmbeddings(RoCBertConfig config)
    {
        long pad = config.pad_token_id ?? 0;
        (enableShape, enablePronunciation) = (config.enable_shape, config.enable_pronunciation);
        absolute = config.position_embedding_type == "absolute";
        word_embeddings = new Embedding(config.vocab_size, config.hidden_size, padding_idx: pad);
        pronunciation_embed = new Embedding(config.pronunciation_vocab_size, config.pronunciation_embed_dim, padding_idx: pad);
        shape_embed = new Embedding(config.shape_vocab_size, config.shape_embed_dim, padding_idx: pad);
        position_embeddings = new Embedding(config.max_position_embeddings, config.hidden_size);
        token_type_embeddings = new Embedding(config.type_vocab_size, config.hidden_size);
        if (config.concat_input)
        {
            long inputs = config.hidden_size + (enablePronunciation ? config.pronunciation_embed_dim : 0) + (enableShape ? config.shape_embed_dim : 0);
            map_inputs_layer = new Linear(inputs, config.hidden_size);
        }
        LayerNorm = new LayerNorm(config.hidden_size, config.layer_norm_eps);
        dropout = new Dropout(config.hidden_dropout_prob);
        RegisterComponents();
    }

    public Tensor forward(Tensor input_ids, Tensor? shape_ids, Tensor? pronunciation_ids, Tensor? token_type_ids, Tensor? position_ids, long past)
    {
        long T = input_ids.size(1);
        position_ids ??= torch.arange(past, past + T, device: input_ids.device).unsqueeze(0);   // BERT-style: 0, 1, 2, …
        if (absolute) InputChecks.CheckRange(position_ids, position_embeddings.weight.size(0), "position ids", "max_position_embeddings");
        token_type_ids ??= torch.zeros(input_ids.shape, ScalarType.Int64, input_ids.device);
        if (shape_ids is not null) InputChecks.CheckRange(shape_ids, shape_embed.weight.size(0), "input_shape_ids", "shape_vocab_size");
        if (pronunciation_ids is not null)
            InputChecks.CheckRange(pronunciation_ids, pronunciation_embed.weight.size(0), "input_pronunciation_ids", "pronunciation_vocab_size");
        var words = word_embeddings.call(input_ids);

        if (map_inputs_layer is null)
        {
            var x = words + token_type_embeddings.call(token_type_ids);
            if (absolute) x = x + position_embeddings.call(position_ids);
            x = dropout.call(LayerNorm.call(x));
            int parts = 1;
            if (enableShape && shape_ids is not null) { x = x + shape_embed.call(shape_ids); parts++; }
            if (enablePronunciation && pronunciation_ids is not null) { x = x + pronunciation_embed.call(pronunciation_ids); parts++; }
            return x / parts;
        }

        var pieces = new List<Tensor> { words };
        var zeros = enableShape || enablePronunciation ? torch.zeros(input_ids.shape, ScalarType.Int64, input_ids.device) : null;
        if (enableShape) pieces.Add(shape_embed.call(shape_ids ?? zeros!));
        if (enablePronunciation) pieces.Add(pronunciation_embed.call(pronunciation_ids ?? zeros!));
        var mapped = map_inputs_layer.call(torch.cat(pieces, -1)) + token_type_embeddings.call(token_type_ids);   // (B, T, H)
        if (absolute) mapped = mapped + position_embeddings.call(position_ids);
        return dropout.call(LayerNorm.call(mapped));
    }
}

/// <summary>transformers.RoCBertModel: multimodal embeddings → BERT encoder → optional pooler.</summary>
public sealed class RoCBertModel(RoCBertConfig config, bool add_pooling_layer = true)
    : TransformerModel<RoCBertConfig, RoCBertEmbeddings>(config, c => new RoCBertEmbeddings(c), add_pooling_layer)
{
    protected override Tensor Embed(EncoderInput input, long past) =>
        embeddings.forward(input.input_ids, input.input_shape_ids, input.input_pronunciation_ids, input.token_type_ids, input.position_ids, past);
}
