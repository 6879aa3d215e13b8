using Cluster.Torch;

namespace Cluster.Model.Encoder;

/// <summary>HF's get_extended_attention_mask, invert_attention_mask and get_head_mask.</summary>
public static class AttentionMasks
{
    /// <summary>torch.finfo(dtype).min: what a masked score gets added.</summary>
    public static double MinValue(ScalarType dtype) => dtype switch
    {
        ScalarType.Float16 => -65504.0,
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float64 => double.MinValue,
        _ => float.MinValue,
    };

    /// <summary>Whether a 1/0 mask masks anything out (one host sync); its temporaries die here.</summary>
    public static bool MasksAnything(Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        return !mask.eq(1).all().item<bool>();
    }

    /// <summary>
    /// (B, S) 1/0 mask → additive (B, 1, 1, S), or (B, 1, T, S) with the causal triangle for decoders,
    /// where S = past + T.
    /// </summary>
    public static Tensor Extended(Tensor mask, long T, long past, bool causal, ScalarType dtype)
    {
        Tensor ext;
        if (mask.dim() == 3)
        {
            ext = mask.unsqueeze(1);
        }
        else if (causal)
        {
            long B = mask.size(0);
            var seq = torch.arange(T, device: mask.device);
            var triangle = seq.view(1, 1, T).repeat(B, T, 1).le(seq.view(1, T, 1));                // (B, T, T)
            if (past > 0) triangle = torch.cat([torch.ones([B, T, past], ScalarType.Bool, mask.device), triangle], 2);
            ext = triangle.unsqueeze(1).to(mask.dtype) * mask.unsqueeze(1).unsqueeze(1);             // (B, 1, T, S)
        }
        else
        {
            ext = mask.unsqueeze(1).unsqueeze(1);                                                     // (B, 1, 1, S)
        }
        return (1.0 - ext.to(dtype)) * MinValue(dtype);
    }

    /// <summary>An encoder's (B, S) or (B, T, S) mask for cross-attention, made additive.</summary>
    public static Tensor Inverted(Tensor mask, ScalarType dtype)
    {
        var ext = mask.dim() == 3 ? mask.unsqueeze(1) : mask.unsqueeze(1).unsqueeze(1);
        return (1.0 - ext.to(dtype)) * MinValue(dtype);
    }

    /// <summary>(nh) or (layers, nh) → (layers, 1, nh, 1, 1), one (1, nh, 1, 1) multiplier per layer.</summary>
    public static Tensor Heads(Tensor headMask, int layers, ScalarType dtype)
    {
        var m = headMask.dim() switch
        {
            1 => headMask.view(1, 1, -1, 1, 1).expand(layers, -1, -1, -1, -1),
            2 => headMask.view(layers, 1, -1, 1, 1),
            _ => throw new ArgumentException($"head_mask must be (heads) or (layers, heads), got [{string.Join(", ", headMask.shape)}]"),
        };
        return m.to(dtype);
    }
}
