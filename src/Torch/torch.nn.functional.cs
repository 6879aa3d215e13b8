using Cluster.Torch.Native;

namespace Cluster.Torch;

/// <summary>How a loss reduces over elements; the values are at::Reduction's.</summary>
public enum Reduction { None = 0, Mean = 1, Sum = 2 }

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>torch.nn.functional: stateless layers and losses.</summary>
        public static class functional
        {
            public static Tensor relu(Tensor x) => x.relu();

            public static Tensor silu(Tensor x) => x.silu();

            public static Tensor tanh(Tensor x) => x.tanh();

            /// <summary>GELU; approximate "none" is the erf form (HF's "gelu"), "tanh" the tanh form ("gelu_new").</summary>
            public static Tensor gelu(Tensor x, string approximate = "none") => approximate switch
            {
                "none" => Tensor.Wrap(LibTorch.ct_gelu(x.Handle, 0)),
                "tanh" => Tensor.Wrap(LibTorch.ct_gelu(x.Handle, 1)),
                _ => throw new ArgumentException($"gelu approximate must be 'none' or 'tanh', got '{approximate}'", nameof(approximate)),
            };

            public static Tensor softmax(Tensor x, long dim, ScalarType? dtype = null) =>
                Tensor.Wrap(LibTorch.ct_softmax(x.Handle, dim, dtype.HasValue ? (int)dtype.Value : -1, 0));

            public static Tensor log_softmax(Tensor x, long dim, ScalarType? dtype = null) =>
                Tensor.Wrap(LibTorch.ct_softmax(x.Handle, dim, dtype.HasValue ? (int)dtype.Value : -1, 1));

            public static unsafe Tensor layer_norm(Tensor x, long[] normalized_shape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
            {
                fixed (long* p = normalized_shape)
                    return Tensor.Wrap(LibTorch.ct_layer_norm(x.Handle, p, normalized_shape.Length,
                        weight?.Handle ?? TensorHandle.Null, bias?.Handle ?? TensorHandle.Null, eps));
            }

            public static Tensor dropout(Tensor x, double p = 0.5, bool training = true)
            {
                if (p < 0 || p > 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1]");
                return Tensor.Wrap(LibTorch.ct_dropout(x.Handle, p, training ? 1 : 0));
            }

            /// <summary>Rows of weight picked by indices; the padding_idx row gets no gradient.</summary>
            public static Tensor embedding(Tensor indices, Tensor weight, long? padding_idx = null) =>
                Tensor.Wrap(LibTorch.ct_embedding(weight.Handle, indices.Handle, padding_idx ?? -1));

            public static Tensor linear(Tensor x, Tensor weight, Tensor? bias = null) =>
                Tensor.Wrap(LibTorch.ct_linear(x.Handle, weight.Handle, bias?.Handle ?? TensorHandle.Null));

            /// <summary>Cross entropy over class logits (N, C) or (N, C, d…) against class indices; targets equal to ignore_index count for nothing.</summary>
            public static Tensor cross_entropy(Tensor input, Tensor target, Tensor? weight = null, long ignore_index = -100,
                Reduction reduction = Reduction.Mean, double label_smoothing = 0.0) =>
                Tensor.Wrap(LibTorch.ct_cross_entropy(input.Handle, target.Handle, weight?.Handle ?? TensorHandle.Null,
                    (int)reduction, ignore_index, label_smoothing));

            public static Tensor mse_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
                Tensor.Wrap(LibTorch.ct_mse_loss(input.Handle, target.Handle, (int)reduction));

            public static Tensor binary_cross_entropy_with_logits(Tensor input, Tensor target, Tensor? weight = null,
                Reduction reduction = Reduction.Mean, Tensor? pos_weight = null) =>
                Tensor.Wrap(LibTorch.ct_bce_with_logits(input.Handle, target.Handle, weight?.Handle ?? TensorHandle.Null,
                    pos_weight?.Handle ?? TensorHandle.Null, (int)reduction));

            public static Tensor normalize(Tensor x, double p = 2.0, long dim = 1, double eps = 1e-12) =>
                Tensor.Wrap(LibTorch.ct_normalize(x.Handle, p, dim, eps));

            /// <summary>
            /// softmax(q·kᵀ·scale + mask)·v over (…, tokens, head size) inputs. A boolean mask keeps
            /// the true positions; a float mask is added to the scores. Uses libtorch's fused kernel
            /// where it has one (2.1+), the exact formula otherwise.
            /// </summary>
            public static Tensor scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_mask = null,
                double dropout_p = 0.0, bool is_causal = false, double? scale = null) =>
                Tensor.Wrap(LibTorch.ct_sdpa(query.Handle, key.Handle, value.Handle, attn_mask?.Handle ?? TensorHandle.Null,
                    dropout_p, is_causal ? 1 : 0, scale ?? double.NaN, 0));

            /// <summary>The same attention by its textbook formula, whatever the libtorch (a reference for tests).</summary>
            public static Tensor exact_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_mask = null,
                double dropout_p = 0.0, bool is_causal = false, double? scale = null) =>
                Tensor.Wrap(LibTorch.ct_sdpa(query.Handle, key.Handle, value.Handle, attn_mask?.Handle ?? TensorHandle.Null,
                    dropout_p, is_causal ? 1 : 0, scale ?? double.NaN, 1));

            public static bool has_fused_attention => LibTorch.ct_has_fused_attention() == 1;
        }
    }
}
