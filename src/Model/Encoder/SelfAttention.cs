using Cluster.Model.Configuration;
using Cluster.Torch;
using static Cluster.Torch.torch.nn;

namespace Cluster.Model.Encoder;

public sealed record AttentionCall(Tensor hidden_states)
{
    /// <summary>Additive mask, 0 to keep and a large negative number to drop, broadcastable to (B, nh, Tq, Tk).</summary>
    public Tensor? attention_mask { get; init; }
    /// <summary>(1, nh, 1, 1) multiplier on the attention probabilities.</summary>
    public Tensor? head_mask { get; init; }
    /// <summary>Set for cross-attention: keys and values come from here.</summary>
    public Tensor? encoder_hidden_states { get; init; }
    public Tensor? past_key { get; init; }
    public Tensor? past_value { get; init; }
    public bool output_attentions { get; init; }
    /// <summary>Set when hidden_states are the packed (N, H) attended tokens of a padded (B, T) batch.</summary>
    public TokenPacking? packing { get; init; }
}

public sealed record AttentionResult(Tensor output, Tensor? probs, Tensor? key, Tensor? value);

/// <summary>
/// Multi-head attention as HF's RobertaSelfAttention / RoCBertSelfAttention (eager), with the three
/// position embedding types and the decoder's key/value cache.
/// B batch, Tq query tokens, Tk key tokens, nh heads, hs head size.
/// </summary>
public sealed class SelfAttention : Module
{
    public readonly Linear query;
    public readonly Linear key;
    public readonly Linear value;
    public readonly Dropout dropout;
    public readonly Embedding? distance_embedding;

    private readonly long nh, hs;
    private readonly string positionType;
    private readonly long maxPositions;
    private readonly bool isDecoder;

    public SelfAttention(PretrainedConfig config)
    {
        (nh, hs) = (config.num_attention_heads, config.head_size);
        positionType = config.position_embedding_type;
        maxPositions = config.max_position_embeddings;
        isDecoder = config.is_decoder;
        query = new Linear(config.hidden_size, nh * hs);
        key = new Linear(config.hidden_size, nh * hs);
        value = new Linear(config.hidden_size, nh * hs);
        dropout = new Dropout(config.attention_probs_dropout_prob);
        if (positionType != "absolute") distance_embedding = new Embedding(2 * maxPositions - 1, hs);
        RegisterComponents();
    }

    private Tensor Heads(Tensor x) => x.view(x.size(0), x.size(1), nh, hs).permute(0, 2, 1, 3); // (B, nh, T, hs)

    public AttentionResult forward(AttentionCall call)
    {
        // projections, scores and context die on return, as they would in PyTorch
        using var scope = torch.NewDisposeScope();
        var h = call.hidden_states;
        var packing = call.packing;
        long B = packing?.Batch ?? h.size(0), Tq = packing?.Length ?? h.size(1);
        // Packed tokens are projected as they are (N, H) and laid out padded for attention only.
        Tensor Project(Linear projection, Tensor x) => packing is null ? projection.call(x) : packing.Unpack(projection.call(x));
        var q = Heads(Project(query, h));
        Tensor k, v;
        if (call.encoder_hidden_states is { } enc)
        {
            (k, v) = call.past_key is { } pk ? (pk, call.past_value!) : (Heads(key.call(enc)), Heads(value.call(enc)));
        }
        else if (call.past_key is { } pk)
        {
            k = torch.cat([pk, Heads(key.call(h))], 2);
            v = torch.cat([call.past_value!, Heads(value.call(h))], 2);
        }
        else
        {
            (k, v) = (Heads(Project(key, h)), Heads(Project(value, h)));
        }

        Tensor context, probs;
        if (positionType == "absolute" && call.head_mask is null && !call.output_attentions)
        {
            // the same computation as below, in one call (fused where libtorch has a kernel)
            context = functional.scaled_dot_product_attention(q, k, v, call.attention_mask, training ? dropout.p : 0.0);
            probs = null!;
        }
        else
        {
            var scores = q.matmul(k.transpose(-1, -2));                                       // (B, nh, Tq, Tk)
            if (distance_embedding is not null) scores = scores + RelativeScores(q, k, call.past_key is not null);
            scores = scores / Math.Sqrt(hs);
            if (call.attention_mask is { } mask) scores = scores + mask;
            probs = dropout.call(functional.softmax(scores, -1));
            if (call.head_mask is { } hm) probs = probs * hm;
            context = probs.matmul(v);                                                        // (B, nh, Tq, hs)
        }
        var output = context.permute(0, 2, 1, 3).contiguous().view(B, Tq, nh * hs);          // (B, Tq, H)
        if (packing is not null) output = packing.Pack(output);                               // (N, H)
        return new AttentionResult(scope.MoveToOuter(output)!, call.output_attentions ? scope.MoveToOuter(probs) : null,
            isDecoder ? scope.MoveToOuter(k) : null, isDecoder ? scope.MoveToOuter(v) : null);
    }

    /// <summary>Scores from learned embeddings of the query-key distance (Shaw et al.; Huang et al. for key_query).</summary>
    private Tensor RelativeScores(Tensor q, Tensor k, bool cached)
    {
        long Tq = q.size(2), Tk = k.size(2);
        var left = cached ? torch.full([1, 1], Tk - 1, ScalarType.Int64, q.device) : torch.arange(Tq, device: q.device).view(-1, 1);
        var right = torch.arange(Tk, device: q.device).view(1, -1);
        var distance = left - right;                                                          // (Tq, Tk)
        var pe = distance_embedding!.call(distance + (maxPositions - 1)).to(q.dtype);        // (Tq, Tk, hs)
        var scores = torch.einsum("bhld,lrd->bhlr", q, pe);
        if (positionType == "relative_key_query") scores = scores + torch.einsum("bhrd,lrd->bhlr", k, pe);
        return scores;
    }
}

/// <summary>HF's *Attention: self (or cross) attention followed by its output projection.</summary>
public sealed class Attention : Module
{
    public readonly SelfAttention self;
    public readonly Output output;

    public Attention(PretrainedConfig config)
    {
        self = new SelfAttention(config);
        output = new Output(config, config.hidden_size);
        RegisterComponents();
    }

    public AttentionResult forward(AttentionCall call)
    {
        var r = self.forward(call);
        return r with { output = output.forward(r.output, call.hidden_states) };
    }
}
