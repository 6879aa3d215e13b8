// Autograd entry points, grad-mode scopes and the fused optimiser update.
#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>
#include <algorithm>
#include <cmath>
#include <tuple>

#include "common.h"

CT_API int ct_backward(ct_tensor t, ct_tensor grad, int retain_graph) {
  CT_TRY
  auto& x = ct::T(t);
  at::Tensor g = grad ? ct::T(grad) : at::Tensor();
  if (!g.defined() && x.numel() != 1)
    throw std::runtime_error("backward without a gradient needs a scalar output, got shape " + c10::str(x.sizes()));
  c10::optional<bool> retain;
  if (retain_graph) retain = true;
  x.backward(g, retain, /*create_graph=*/false);
  return 0;
  CT_CATCH(-1)
}

// out receives NULL when the tensor has no gradient yet.
CT_API int ct_grad(ct_tensor t, ct_tensor* out) {
  CT_TRY
  auto g = ct::T(t).grad();
  *out = g.defined() ? ct::wrap(g) : nullptr;
  return 0;
  CT_CATCH(-1)
}

CT_API int ct_clear_grad(ct_tensor t) { CT_STATUS(ct::T(t).mutable_grad().reset()) }

// t.grad = g (a copy, so the gradient owns its storage as autograd's accumulated ones do).
CT_API int ct_set_grad(ct_tensor t, ct_tensor g) { CT_STATUS(ct::T(t).mutable_grad() = ct::T(g).detach().clone()) }

CT_API int ct_grad_enabled(void) { return c10::GradMode::is_enabled() ? 1 : 0; }
CT_API int ct_set_grad_enabled(int enabled) {
  int previous = c10::GradMode::is_enabled() ? 1 : 0;
  c10::GradMode::set_enabled(enabled != 0);
  return previous;
}

// The guard is thread-local state: the caller must exit on the thread that entered.
CT_API void* ct_inference_mode_enter(void) { CT_TRY return new c10::InferenceMode(); CT_CATCH(nullptr) }
CT_API void ct_inference_mode_exit(void* guard) { delete static_cast<c10::InferenceMode*>(guard); }

// torch.autocast(device_type, dtype): ops on that device's floating tensors run in the dtype autocast's lists give them
// (matmuls in dtype, reductions and norms in float32). Thread-local like the scopes above; the guard restores the
// previous state, and the last one out clears the cache of cast weights, as Python's context manager does.
namespace {
struct AutocastGuard {
  c10::DeviceType device;
  bool was_enabled;
  at::ScalarType was_dtype;
};

bool autocast_enabled(c10::DeviceType d) {
#if CT_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(d);
#else
  return d == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

at::ScalarType autocast_dtype(c10::DeviceType d) {
#if CT_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(d);
#else
  return d == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set_autocast(c10::DeviceType d, bool enabled, at::ScalarType dtype) {
#if CT_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(d, enabled);
  at::autocast::set_autocast_dtype(d, dtype);
#else
  if (d == c10::DeviceType::CUDA) {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}
}  // namespace

CT_API void* ct_autocast_enter(int dev_type, int dtype) {
  CT_TRY
  auto device = dev_type == 0 ? c10::DeviceType::CPU : c10::DeviceType::CUDA;
  auto type = static_cast<at::ScalarType>(dtype);
  if (type != at::kBFloat16 && type != at::kHalf)
    throw std::runtime_error("autocast takes bfloat16 or float16, not " + std::string(c10::toString(type)));
  auto* guard = new AutocastGuard{device, autocast_enabled(device), autocast_dtype(device)};
  set_autocast(device, true, type);
  at::autocast::increment_nesting();
  return guard;
  CT_CATCH(nullptr)
}

CT_API void ct_autocast_exit(void* guard) {
  auto* g = static_cast<AutocastGuard*>(guard);
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast(g->device, g->was_enabled, g->was_dtype);
  delete g;
}

CT_API int ct_autocast_enabled(int dev_type) {
  return autocast_enabled(dev_type == 0 ? c10::DeviceType::CPU : c10::DeviceType::CUDA) ? 1 : 0;
}

namespace {
// The norm clip_grad_norm_ clips by: each gradient's norm (the largest |element| for norm_type inf), then the norm of
// those. The per-gradient 2-norms of CUDA tensors are one fused call. Returns the total and the scale to apply (1 when
// the total is within max_norm).
std::pair<double, double> clip_norm(const std::vector<at::Tensor>& grads, double max_norm, double norm_type) {
  std::vector<at::Tensor> norms;
  if (norm_type == 2 && grads.front().is_cuda()) norms = at::_foreach_norm(grads, 2);
  else
    for (auto& g : grads) norms.push_back(std::isinf(norm_type) ? g.abs().max().to(at::kFloat) : g.norm(norm_type).to(at::kFloat));
  auto stacked = at::stack(norms);
  double total = (std::isinf(norm_type) ? stacked.max() : stacked.norm(norm_type)).item<double>();
  return {total, std::min(1.0, max_norm / (total + 1e-6))};
}
}  // namespace

// torch.nn.utils.clip_grad_norm_: one norm over all gradients, scaled down when above max_norm.
CT_API int ct_clip_grad_norm(const ct_tensor* params, int n, double max_norm, double norm_type, double* total) {
  CT_TRY
  c10::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  for (int i = 0; i < n; i++) {
    auto g = ct::T(params[i]).grad();
    if (g.defined()) grads.push_back(g);
  }
  if (grads.empty()) { *total = 0; return 0; }
  double coef;
  std::tie(*total, coef) = clip_norm(grads, max_norm, norm_type);
  if (coef < 1)
    for (auto& g : grads) g.mul_(coef);
  return 0;
  CT_CATCH(-1)
}

// clip_grad_norm_ (2-norm) over a flat buffer holding n gradients back to back (sizes[i] elements each): the norm of
// ct_clip_grad_norm, so the two clip alike, and the whole buffer scaled in one multiply.
CT_API int ct_clip_grad_norm_flat(ct_tensor flat, const int64_t* sizes, int n, double max_norm, double* total) {
  CT_TRY
  c10::NoGradGuard no_grad;
  auto& g = ct::T(flat);
  std::vector<at::Tensor> views;
  views.reserve(n);
  int64_t offset = 0;
  for (int i = 0; i < n; i++) {
    views.push_back(g.narrow(0, offset, sizes[i]));
    offset += sizes[i];
  }
  if (n == 0 || g.dim() != 1 || offset != g.numel())
    throw std::runtime_error("the gradient sizes add up to " + std::to_string(offset) + ", the flat buffer holds " + std::to_string(g.numel()));
  double coef;
  std::tie(*total, coef) = clip_norm(views, max_norm, 2);
  if (coef < 1) g.mul_(coef);
  return 0;
  CT_CATCH(-1)
}

namespace {
// Adam's moments and the bias-corrected update of p from g, after any weight decay (torch.optim.AdamW, no amsgrad).
void adam_update(at::Tensor& p, const at::Tensor& g, at::Tensor& m, at::Tensor& v, double lr, double beta1, double beta2,
                 double eps, int64_t step) {
  m.lerp_(g, 1 - beta1);
  v.mul_(beta2).addcmul_(g, g, 1 - beta2);
  double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(step));
  double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(step));
  auto denom = v.sqrt().div_(std::sqrt(bias_correction2)).add_(eps);
  p.addcdiv_(m, denom, -lr / bias_correction1);
}
}  // namespace

// ct_adamw_step over many parameters at once: param, grad and the moments are flat buffers the parameters are views
// of, so a step costs a few kernels rather than a few per parameter (on a GPU, thousands of launches a step for
// roberta-base). decay (bool, or null) marks the elements weight decay applies to; elsewhere the factor is 1, so
// every element gets exactly the per-parameter update's arithmetic.
CT_API int ct_adamw_step_flat(ct_tensor param, ct_tensor grad, ct_tensor exp_avg, ct_tensor exp_avg_sq, ct_tensor decay,
                              double lr, double beta1, double beta2, double eps, double weight_decay, int64_t step) {
  CT_TRY
  c10::NoGradGuard no_grad;
  auto& p = ct::T(param);
  auto& g = ct::T(grad);
  auto& m = ct::T(exp_avg);
  auto& v = ct::T(exp_avg_sq);
  if (g.sizes() != p.sizes() || m.sizes() != p.sizes() || v.sizes() != p.sizes())
    throw std::runtime_error("a flat AdamW step needs parameters, gradients and moments of one shape");
  if (decay != nullptr && weight_decay != 0)
    p.mul_(at::where(ct::T(decay), at::scalar_tensor(1 - lr * weight_decay, p.options()), at::scalar_tensor(1.0, p.options())));
  adam_update(p, g, m, v, lr, beta1, beta2, eps, step);
  return 0;
  CT_CATCH(-1)
}

// One AdamW update of one parameter, as torch.optim.AdamW (decoupled weight decay, bias
// correction, no amsgrad). exp_avg and exp_avg_sq are the caller's state tensors.
CT_API int ct_adamw_step(ct_tensor param, ct_tensor exp_avg, ct_tensor exp_avg_sq, double lr, double beta1,
                         double beta2, double eps, double weight_decay, int64_t step) {
  CT_TRY
  c10::NoGradGuard no_grad;
  auto& p = ct::T(param);
  auto grad = p.grad();
  if (!grad.defined()) return 0;
  if (weight_decay != 0) p.mul_(1 - lr * weight_decay);
  adam_update(p, grad, ct::T(exp_avg), ct::T(exp_avg_sq), lr, beta1, beta2, eps, step);
  return 0;
  CT_CATCH(-1)
}
