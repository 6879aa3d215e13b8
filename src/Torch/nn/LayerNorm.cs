namespace Cluster.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>Normalises over the trailing normalized_shape dims; weight ones, bias zeros.</summary>
        public sealed class LayerNorm : Module<Tensor, Tensor>
        {
            public readonly Parameter? weight;
            public readonly Parameter? bias;
            public readonly long[] normalized_shape;
            public readonly double eps;

            public LayerNorm(long[] normalized_shape, double eps = 1e-5, bool elementwise_affine = true, Device? device = null,
                ScalarType dtype = ScalarType.Float32)
            {
                this.normalized_shape = normalized_shape;
                this.eps = eps;
                if (elementwise_affine)
                {
                    using var scope = NewDisposeScope();
                    weight = new Parameter(ones(normalized_shape, dtype, device));
                    bias = new Parameter(zeros(normalized_shape, dtype, device));
                }
                RegisterComponents();
            }

            public LayerNorm(long normalized_size, double eps = 1e-5) : this(new[] { normalized_size }, eps) { }

            public override Tensor forward(Tensor x) => functional.layer_norm(x, normalized_shape, weight, bias, eps);
        }

        /// <summary>Zeroes elements with probability p while training and scales the rest by 1/(1-p).</summary>
        public sealed class Dropout : Module<Tensor, Tensor>
        {
            public readonly double p;

            public Dropout(double p = 0.5)
            {
                if (p < 0 || p > 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1]");
                this.p = p;
            }

            public override Tensor forward(Tensor x) => functional.dropout(x, p, training);
        }
    }
}
