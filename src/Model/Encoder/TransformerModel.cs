using Cluster.Model.Configuration;
using Cluster.Torch;
using static Cluster.Torch.torch.nn;

namespace Cluster.Model.Encoder;

/// <summary>
/// What RobertaModel and RoCBertModel share: embeddings (the one part that differs), then the masks,
/// the layer stack and the optional pooler, under HF's names embeddings / encoder / pooler.
/// </summary>
public abstract class TransformerModel<TConfig, TEmbeddings> : Module where TConfig : PretrainedConfig where TEmbeddings : Module
{
    public readonly TEmbeddings embeddings;
    public readonly Encoder encoder;
    public readonly Pooler? pooler;

    protected TransformerModel(TConfig config, Func<TConfig, TEmbeddings> makeEmbeddings, bool add_pooling_layer)
    {
        config.Validate();
        this.config = config;
        embeddings = makeEmbeddings(config);
        encoder = new Encoder(config);
        if (add_pooling_layer) pooler = new Pooler(config);
        RegisterComponents();
        Initialization.Apply(this, config.initializer_range);
    }

    public TConfig config { get; }

    /// <summary>(B, T, H) embeddings of the input's tokens, which follow <paramref name="past"/> cached ones.</summary>
    protected abstract Tensor Embed(EncoderInput input, long past);

    public BaseModelOutput forward(EncoderInput input)
    {
        CheckInput(input);
        return Run(Embed(input, input.past_key_values?.Length ?? 0), input);
    }

    private void CheckInput(EncoderInput input)
    {
        var ids = input.input_ids;
        if (ids.dim() != 2 || ids.dtype != ScalarType.Int64)
            throw new ArgumentException($"input_ids must be (batch, tokens) int64, got {ids.dtype} [{string.Join(", ", ids.shape)}]");
        if (input.past_key_values is not null && !config.is_decoder)
            throw new ArgumentException("past_key_values are only for decoders (is_decoder)");
        long past = input.past_key_values?.Length ?? 0;
        if (input.attention_mask is { } m && (m.dim() != 2 || m.size(0) != ids.size(0) || m.size(1) != ids.size(1) + past))
            throw new ArgumentException($"attention_mask must be [{ids.size(0)}, {ids.size(1) + past}] for input_ids " +
                                        $"[{string.Join(", ", ids.shape)}] after {past} cached tokens, got [{string.Join(", ", m.shape)}]");
        foreach (var (name, t) in new[] { ("token_type_ids", input.token_type_ids), ("position_ids", input.position_ids),
                     ("input_shape_ids", input.input_shape_ids), ("input_pronunciation_ids", input.input_pronunciation_ids) })
            if (t is not null && !t.shape.SequenceEqual(ids.shape))
                throw new ArgumentException($"{name} must have the shape of input_ids [{string.Join(", ", ids.shape)}], got [{string.Join(", ", t.shape)}]");
        if (input.skip_padding && (config.is_decoder || input.head_mask is not null || input.output_attentions || input.output_hidden_states))
            throw new ArgumentException("skip_padding is for an encoder's last_hidden_state: it cannot be combined with is_decoder, head_mask, " +
                                        "output_attentions or output_hidden_states");
        InputChecks.CheckRange(ids, config.vocab_size, "input_ids", "vocab_size");
        if (input.token_type_ids is { } tt) InputChecks.CheckRange(tt, config.type_vocab_size, "token_type_ids", "type_vocab_size");
    }

    private BaseModelOutput Run(Tensor embeddings, EncoderInput input)
    {
        var ids = input.input_ids;
        long B = ids.size(0), T = ids.size(1), past = input.past_key_values?.Length ?? 0;
        var dtype = embeddings.dtype;
        bool useCache = config.is_decoder && (input.use_cache ?? config.use_cache);
        // No mask, or an encoder's mask with no padding, adds nothing: leave it out, as transformers'
        // SDPA path does, so that the fused attention may use its fastest (mask-free) kernel.
        // Same numbers: every score would have had 0 added.
        var mask = input.attention_mask;
        Tensor? extended = null;
        if (config.is_decoder || (mask is not null && AttentionMasks.MasksAnything(mask)))
            extended = AttentionMasks.Extended(mask ?? torch.ones([B, T + past], ScalarType.Int64, ids.device), T, past, config.is_decoder, dtype);
        Tensor? encoderMask = null;
        if (config.is_decoder && input.encoder_hidden_states is { } enc)
            encoderMask = AttentionMasks.Inverted(
                input.encoder_attention_mask ?? torch.ones([enc.size(0), enc.size(1)], ScalarType.Int64, enc.device), dtype);
        var heads = input.head_mask is { } hm ? AttentionMasks.Heads(hm, config.num_hidden_layers, dtype) : null;

        // Only a batch with padding gains from packing; the row of zeros it leaves at padded positions is harmless
        // to every head, which reads attended positions (or pools them by the mask).
        var packing = input.skip_padding && extended is not null ? TokenPacking.Of(mask!) : null;
        var r = encoder.forward(packing?.Pack(embeddings) ?? embeddings, extended, heads, config.is_decoder ? input.encoder_hidden_states : null, encoderMask,
            input.past_key_values, useCache, input.output_attentions, input.output_hidden_states, packing);
        var last = packing?.Unpack(r.last_hidden_state) ?? r.last_hidden_state;
        return new BaseModelOutput(last)
        {
            pooler_output = pooler?.forward(last),
            hidden_states = r.hidden_states,
            attentions = r.attentions,
            cross_attentions = r.cross_attentions,
            past_key_values = r.cache,
        };
    }
}

/// <summary>Input checks the embeddings share.</summary>
public static class InputChecks
{
    /// <summary>An id past the table would fail deep in libtorch; name it here instead.</summary>
    public static void CheckRange(Tensor ids, long size, string what, string field)
    {
        using var scope = torch.NewDisposeScope();
        if (ids.numel() == 0) return;
        long max = ids.max().item<long>(), min = ids.min().item<long>();
        if (max >= size || min < 0)
            throw new ArgumentException($"{what} contains {(min < 0 ? min : max)}, outside [0, {size}) ({field})");
    }
}
