namespace Cluster.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>A lookup table (num_embeddings, embedding_dim), initialised N(0, 1) with a zero padding row.</summary>
        public sealed class Embedding : Module<Tensor, Tensor>
        {
            public readonly Parameter weight;
            public readonly long? padding_idx;

            public Embedding(long num_embeddings, long embedding_dim, long? padding_idx = null, Device? device = null,
                ScalarType dtype = ScalarType.Float32)
            {
                if (padding_idx is { } p && (p < 0 || p >= num_embeddings))
                    throw new ArgumentOutOfRangeException(nameof(padding_idx), p, $"padding_idx must be in [0, {num_embeddings})");
                this.padding_idx = padding_idx;
                using (var data = empty(new[] { num_embeddings, embedding_dim }, dtype, device).DetachFromDisposeScope())
                {
                    init.normal_(data);
                    weight = new Parameter(data);
                }
                ZeroPaddingRow();
                RegisterComponents();
            }

            /// <summary>Zeroes the padding row again (initialisers that rewrite the whole table call this).</summary>
            public void ZeroPaddingRow()
            {
                if (padding_idx is not { } p) return;
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                weight[p].zero_();
            }

            public override Tensor forward(Tensor indices) => functional.embedding(indices, weight, padding_idx);
        }
    }
}
