using Cluster.Torch.Native;

namespace Cluster.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>y = x·Wᵀ + b, with weight (out_features, in_features) and PyTorch's default init U(±1/√in).</summary>
        public sealed class Linear : Module<Tensor, Tensor>
        {
            public Parameter weight { get; private set; }
            public Parameter? bias { get; private set; }

            public Linear(long in_features, long out_features, bool hasBias = true, Device? device = null, ScalarType dtype = ScalarType.Float32)
            {
                double bound = 1.0 / Math.Sqrt(in_features);
                weight = init.Uniform(new[] { out_features, in_features }, bound, dtype, device);
                if (hasBias) bias = init.Uniform(new[] { out_features }, bound, dtype, device);
                RegisterComponents();
                if (!hasBias) register_parameter("bias", null);
            }

            /// <summary>
            /// Shares <paramref name="shared"/> as this layer's weight (HF's tied decoder and word
            /// embeddings): one Parameter, reachable under both names.
            /// </summary>
            public void Tie(Parameter shared)
            {
                if (!shared.shape.SequenceEqual(weight.shape))
                    throw new ArgumentException($"cannot tie a [{string.Join(", ", shared.shape)}] parameter to a " +
                                                $"[{string.Join(", ", weight.shape)}] weight", nameof(shared));
                var old = weight;
                weight = shared;
                replace_parameter("weight", shared);
                old.Dispose();
            }

            /// <summary>
            /// Shares <paramref name="shared"/> as this layer's bias, also on a layer made without one
            /// (HF's <c>decoder.bias = self.bias</c> in its LM heads).
            /// </summary>
            public void TieBias(Parameter shared)
            {
                if (shared.dim() != 1 || shared.size(0) != weight.size(0))
                    throw new ArgumentException($"cannot tie a [{string.Join(", ", shared.shape)}] parameter as the bias of a " +
                                                $"layer with {weight.size(0)} outputs", nameof(shared));
                var old = bias;
                bias = shared;
                replace_parameter("bias", shared);
                old?.Dispose();
            }

            public override Tensor forward(Tensor x) => functional.linear(x, weight, bias);
        }

        /// <summary>Parameter initialisers, in place and without autograd (torch.nn.init).</summary>
        public static class init
        {
            public static Tensor normal_(Tensor t, double mean = 0, double std = 1, Generator? generator = null)
            {
                TorchException.Check(LibTorch.ct_init_(RandomKind.Normal, t.Handle, mean, std, Generator.HandleOf(generator)));
                return t;
            }

            public static Tensor uniform_(Tensor t, double low = 0, double high = 1, Generator? generator = null)
            {
                TorchException.Check(LibTorch.ct_init_(RandomKind.Uniform, t.Handle, low, high, Generator.HandleOf(generator)));
                return t;
            }

            public static Tensor zeros_(Tensor t)
            {
                using (no_grad()) return t.zero_();
            }

            public static Tensor ones_(Tensor t)
            {
                using (no_grad()) return t.fill_(1);
            }

            internal static Parameter Uniform(long[] shape, double bound, ScalarType dtype, Device? device)
            {
                using var data = empty(shape, dtype, device).DetachFromDisposeScope();
                uniform_(data, -bound, bound);
                return new Parameter(data);
            }
        }
    }
}
