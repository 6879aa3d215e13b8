using Cluster.Torch;

namespace Cluster.Model.Encoder;

/// <summary>
/// The inputs of a RoBERTa/RoCBert forward pass under Hugging Face's names. Only input_ids is
/// required; masks are 1 for tokens to attend to and 0 for padding.
/// </summary>
public sealed record EncoderInput(Tensor input_ids)
{
    public Tensor? attention_mask { get; init; }
    public Tensor? token_type_ids { get; init; }
    public Tensor? position_ids { get; init; }
    /// <summary>(heads) or (layers, heads): 1 keeps a head, 0 silences it.</summary>
    public Tensor? head_mask { get; init; }
    /// <summary>RoCBert only: glyph-shape ids aligned with input_ids.</summary>
    public Tensor? input_shape_ids { get; init; }
    /// <summary>RoCBert only: pronunciation ids aligned with input_ids.</summary>
    public Tensor? input_pronunciation_ids { get; init; }
    /// <summary>Decoders with cross-attention: the encoder's output and its mask.</summary>
    public Tensor? encoder_hidden_states { get; init; }
    public Tensor? encoder_attention_mask { get; init; }
    /// <summary>Keys and values of earlier steps (incremental decoding); requires is_decoder.</summary>
    public KeyValueCache? past_key_values { get; init; }
    public bool? use_cache { get; init; }
    public bool output_attentions { get; init; }
    public bool output_hidden_states { get; init; }
    /// <summary>Inference on padded batches: the position-wise layers run on the attended tokens only
    /// (<see cref="TokenPacking"/>), and last_hidden_state is 0 at padded positions. An encoder's option: refused with a
    /// decoder, head_mask, output_attentions or output_hidden_states.</summary>
    public bool skip_padding { get; init; }
}

/// <summary>One layer's cached projections: self-attention keys/values, and cross-attention ones for decoders that have it.</summary>
public sealed record LayerKeyValues(Tensor self_key, Tensor self_value, Tensor? cross_key = null, Tensor? cross_value = null);

/// <summary>Per-layer keys and values, (B, nh, T, hs) each, as HF's past_key_values.</summary>
public sealed record KeyValueCache(IReadOnlyList<LayerKeyValues> layers)
{
    public long Length => layers.Count == 0 ? 0 : layers[0].self_key.size(2);
}

/// <summary>What the encoder stack returns (HF's BaseModelOutputWithPoolingAndCrossAttentions).</summary>
public sealed record BaseModelOutput(Tensor last_hidden_state)
{
    public Tensor? pooler_output { get; init; }
    /// <summary>The embeddings' output, then each layer's: num_hidden_layers + 1 tensors.</summary>
    public IReadOnlyList<Tensor>? hidden_states { get; init; }
    public IReadOnlyList<Tensor>? attentions { get; init; }
    public IReadOnlyList<Tensor>? cross_attentions { get; init; }
    public KeyValueCache? past_key_values { get; init; }
}
