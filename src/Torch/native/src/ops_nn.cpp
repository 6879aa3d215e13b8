// Neural-network functions: activations, normalisation, losses and attention.
#include <cmath>
#include <limits>

#include "common.h"

namespace {

c10::optional<at::ScalarType> opt_dtype(int code) {
  if (code < 0) return c10::nullopt;
  return ct::dtype(code);
}

// The textbook definition, used where libtorch has no fused kernel (1.13) or when asked for:
// softmax(q·kᵀ·scale + mask)·v, with dropout on the probabilities.
at::Tensor exact_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const c10::optional<at::Tensor>& mask, double dropout_p, bool is_causal, double scale) {
  // The scores are a fresh tensor, and neither scaling nor masking needs its input for backward, so
  // both work in place: two fewer (..., L, S) allocations, which dominate at long sequences.
  auto scores = at::matmul(q, k.transpose(-2, -1));  // (..., L, S)
  scores.mul_(scale);
  if (is_causal) {
    auto L = q.size(-2), S = k.size(-2);
    auto keep = at::ones({L, S}, q.options().dtype(at::kBool)).tril();
    scores.masked_fill_(keep.logical_not(), -std::numeric_limits<double>::infinity());
  }
  if (mask.has_value() && mask->defined()) {
    if (mask->scalar_type() == at::kBool)
      scores.masked_fill_(mask->logical_not(), -std::numeric_limits<double>::infinity());
    else if (at::infer_size(scores.sizes(), mask->sizes()) == scores.sizes())
      scores.add_(*mask);
    else
      scores = scores.add(*mask);  // a mask wider than the scores broadcasts them up: not in place
  }
  auto probs = scores.softmax(-1);
  if (dropout_p > 0) probs = ct::dropout(probs, dropout_p, /*train=*/true);
  return at::matmul(probs, v);
}

}  // namespace

CT_API int ct_has_fused_attention(void) { return CT_TORCH_AT_LEAST(2, 1) ? 1 : 0; }

CT_API ct_tensor ct_softmax(ct_tensor a, int64_t dim, int dtype, int log) {
  CT_TENSOR(log ? at::log_softmax(ct::T(a), dim, opt_dtype(dtype)) : at::softmax(ct::T(a), dim, opt_dtype(dtype)))
}

// Under autocast a bf16 or fp16 activation meets float32 parameters here. CUDA's autocast runs layer_norm in float32;
// CPU autocast before PyTorch 2 passes the dtypes through mixed, which layer_norm refuses: normalise in float32 then too.
CT_API ct_tensor ct_layer_norm(ct_tensor x, const int64_t* shape, int ndim, ct_tensor w, ct_tensor b, double eps) {
  CT_TRY
  at::Tensor input = ct::T(x);
  auto weight = ct::opt(w);
  bool reduced = input.scalar_type() == at::kBFloat16 || input.scalar_type() == at::kHalf;
  if (reduced && weight.has_value() && weight->defined() && weight->scalar_type() == at::kFloat) input = input.to(at::kFloat);
  return ct::wrap(at::layer_norm(input, ct::dims(shape, ndim), weight, ct::opt(b), eps));
  CT_CATCH(nullptr)
}

CT_API ct_tensor ct_gelu(ct_tensor x, int tanh_approximation) {
  CT_TENSOR(at::gelu(ct::T(x), tanh_approximation ? "tanh" : "none"))
}

CT_API ct_tensor ct_embedding(ct_tensor weight, ct_tensor indices, int64_t padding_idx) {
  CT_TENSOR(at::embedding(ct::T(weight), ct::T(indices), padding_idx))
}

CT_API ct_tensor ct_cross_entropy(ct_tensor logits, ct_tensor target, ct_tensor weight, int reduction,
                                  int64_t ignore_index, double label_smoothing) {
  CT_TENSOR(at::cross_entropy_loss(ct::T(logits), ct::T(target), ct::opt(weight), reduction, ignore_index, label_smoothing))
}

CT_API ct_tensor ct_mse_loss(ct_tensor a, ct_tensor b, int reduction) { CT_TENSOR(at::mse_loss(ct::T(a), ct::T(b), reduction)) }

CT_API ct_tensor ct_bce_with_logits(ct_tensor x, ct_tensor y, ct_tensor weight, ct_tensor pos_weight, int reduction) {
  CT_TENSOR(at::binary_cross_entropy_with_logits(ct::T(x), ct::T(y), ct::opt(weight), ct::opt(pos_weight), reduction))
}

// F.normalize: x / max(‖x‖_p, eps) along dim.
CT_API ct_tensor ct_normalize(ct_tensor x, double p, int64_t dim, double eps) {
  CT_TRY
  auto& t = ct::T(x);
  auto denom = t.norm(p, dim, /*keepdim=*/true).clamp_min(eps).expand_as(t);
  return ct::wrap(t.div(denom));
  CT_CATCH(nullptr)
}

// scale: NaN means 1/sqrt(head size). force_exact selects the reference path even where a
// fused kernel exists (tests compare the two).
CT_API ct_tensor ct_sdpa(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor mask, double dropout_p, int is_causal,
                         double scale, int force_exact) {
  CT_TRY
  auto& Q = ct::T(q);
  auto& K = ct::T(k);
  auto& V = ct::T(v);
  if (Q.dim() < 2 || K.dim() < 2 || V.dim() < 2)
    throw std::invalid_argument("scaled_dot_product_attention needs (..., tokens, head_size) inputs");
  if (Q.size(-1) != K.size(-1))
    throw std::invalid_argument("scaled_dot_product_attention: query head size " + std::to_string(Q.size(-1)) +
                                " differs from key head size " + std::to_string(K.size(-1)));
  double s = std::isnan(scale) ? 1.0 / std::sqrt(static_cast<double>(Q.size(-1))) : scale;
#if CT_TORCH_AT_LEAST(2, 1)
  if (!force_exact)
    return ct::wrap(at::scaled_dot_product_attention(Q, K, V, ct::opt(mask), dropout_p, is_causal != 0, s));
#endif
  return ct::wrap(exact_attention(Q, K, V, ct::opt(mask), dropout_p, is_causal != 0, s));
  CT_CATCH(nullptr)
}
