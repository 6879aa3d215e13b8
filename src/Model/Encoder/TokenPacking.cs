using Cluster.Torch;

namespace Cluster.Model.Encoder;

/// <summary>
/// Where a padded batch's attended tokens are, so that the position-wise layers (projections, feed-forward,
/// LayerNorm) run on those tokens alone, (N, H), and only attention sees the padded (B, T) layout. A batch of mixed
/// lengths then costs its real tokens, not rows × the longest row, in every matrix multiply. Inference only: padded
/// positions of the output are 0, not what a padded row would compute there (the same for every attended position).
/// </summary>
public sealed class TokenPacking
{
    readonly Tensor _kept;    // (N): the flat (B·T) positions of the attended tokens, in order
    readonly Tensor _spread;  // (B·T): each position's packed row, or N (a row of zeros) for padding

    TokenPacking(Tensor kept, Tensor spread, long batch, long length, long tokens)
        => (_kept, _spread, Batch, Length, Tokens) = (kept, spread, batch, length, tokens);

    public long Batch { get; }
    public long Length { get; }
    /// <summary>N, the attended tokens.</summary>
    public long Tokens { get; }

    /// <summary>From a (B, T) 1/0 attention mask (one copy to the host). Its tensors belong to the caller's scope.</summary>
    public static TokenPacking Of(Tensor mask)
    {
        if (mask.dim() != 2) throw new ArgumentException($"packing needs a (batch, tokens) attention mask, got [{string.Join(", ", mask.shape)}]");
        long batch = mask.size(0), length = mask.size(1);
        long[] flags;
        using (var scope = torch.NewDisposeScope()) flags = mask.to(ScalarType.Int64).cpu().ToArray<long>();
        var kept = new List<long>(flags.Length);
        for (var i = 0; i < flags.Length; i++) if (flags[i] != 0) kept.Add(i);
        var spread = new long[flags.Length];
        for (int i = 0, row = 0; i < flags.Length; i++) spread[i] = flags[i] != 0 ? row++ : kept.Count;
        return new TokenPacking(torch.tensor(kept.ToArray(), [kept.Count]).to(mask.device), torch.tensor(spread, [spread.Length]).to(mask.device),
            batch, length, kept.Count);
    }

    /// <summary>(B, T, H) → (N, H): the attended tokens.</summary>
    public Tensor Pack(Tensor padded) => padded.reshape(Batch * Length, padded.size(2)).index_select(0, _kept);

    /// <summary>(N, H) → (B, T, H), zeros at padded positions.</summary>
    public Tensor Unpack(Tensor packed)
    {
        using var scope = torch.NewDisposeScope();
        var zero = torch.zeros([1, packed.size(1)], packed.dtype, packed.device);
        return scope.MoveToOuter(torch.cat([packed, zero]).index_select(0, _spread).view(Batch, Length, packed.size(1)))!;
    }
}
