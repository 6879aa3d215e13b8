using Cluster.Model.Configuration;
using Cluster.Torch;
using static Cluster.Torch.torch.nn;

namespace Cluster.Model.Encoder;

public sealed class Intermediate : Module
{
    public readonly Linear dense;
    private readonly Func<Tensor, Tensor> act;

    public Intermediate(PretrainedConfig config)
    {
        dense = new Linear(config.hidden_size, config.intermediate_size);
        act = Activation.Get(config.hidden_act);
        RegisterComponents();
    }

    public Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope(); // the (B, T, intermediate) pre-activation dies here, as in PyTorch
        return scope.MoveToOuter(act(dense.call(x)))!;
    }
}

/// <summary>
/// Project to the hidden size, then LayerNorm over the residual: HF's *SelfOutput after attention
/// (from hidden_size) and *Output after the feed-forward (from intermediate_size).
/// </summary>
public sealed class Output : Module
{
    public readonly Linear dense;
    public readonly LayerNorm LayerNorm; // HF keeps TensorFlow's capitalised name
    public readonly Dropout dropout;

    public Output(PretrainedConfig config, long inputSize)
    {
        dense = new Linear(inputSize, config.hidden_size);
        LayerNorm = new LayerNorm(config.hidden_size, config.layer_norm_eps);
        dropout = new Dropout(config.hidden_dropout_prob);
        RegisterComponents();
    }

    public Tensor forward(Tensor hidden, Tensor residual)
    {
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(LayerNorm.call(dropout.call(dense.call(hidden)) + residual))!;
    }
}

public sealed record LayerResult(Tensor hidden_states, Tensor? self_probs, Tensor? cross_probs, LayerKeyValues? present);

/// <summary>One transformer layer (post-LayerNorm): x = LN(x + Attn(x)); [x = LN(x + CrossAttn(x, enc))]; x = LN(x + FFN(x)).</summary>
public sealed class Layer : Module
{
    public readonly Attention attention;
    public readonly Attention? crossattention;
    public readonly Intermediate intermediate;
    public readonly Output output;

    private readonly bool isDecoder;

    public Layer(PretrainedConfig config)
    {
        isDecoder = config.is_decoder;
        attention = new Attention(config);
        if (config.add_cross_attention)
        {
            if (!config.is_decoder) throw new ConfigException("add_cross_attention requires is_decoder: cross-attention belongs to a decoder");
            crossattention = new Attention(config);
        }
        intermediate = new Intermediate(config);
        output = new Output(config, config.intermediate_size);
        RegisterComponents();
    }

    public LayerResult forward(Tensor hidden, Tensor? mask, Tensor? headMask, Tensor? encoderHidden, Tensor? encoderMask,
        LayerKeyValues? past, bool outputAttentions, TokenPacking? packing = null)
    {
        var self = attention.forward(new AttentionCall(hidden)
        {
            attention_mask = mask, head_mask = headMask, past_key = past?.self_key, past_value = past?.self_value,
            output_attentions = outputAttentions, packing = packing,
        });
        var x = self.output;
        AttentionResult? cross = null;
        if (isDecoder && encoderHidden is not null)
        {
            if (crossattention is null)
                throw new ArgumentException("encoder_hidden_states were given but this model has no cross-attention (set add_cross_attention)");
            cross = crossattention.forward(new AttentionCall(x)
            {
                attention_mask = encoderMask, head_mask = headMask, encoder_hidden_states = encoderHidden,
                past_key = past?.cross_key, past_value = past?.cross_value, output_attentions = outputAttentions,
            });
            x = cross.output;
        }
        using (var scope = torch.NewDisposeScope()) x = scope.MoveToOuter(output.forward(intermediate.forward(x), x))!;
        var present = isDecoder ? new LayerKeyValues(self.key!, self.value!, cross?.key, cross?.value) : null;
        return new LayerResult(x, self.probs, cross?.probs, present);
    }
}
