// Seeds, generators and random tensors. A generator is a CPU generator: on a CUDA device the
// numbers are drawn on the CPU and copied, so a seed gives the same tensor on every device.
#include <ATen/CPUGeneratorImpl.h>

#include <c10/core/GradMode.h>  // NoGradGuard; ATen.h stopped bringing it in by 2.11

#include "common.h"

namespace {

enum RandKind { Normal, Uniform, Integer };

c10::optional<at::Generator> gen_of(ct_generator g) {
  if (g == nullptr) return c10::nullopt;
  return *static_cast<at::Generator*>(g);
}

at::Tensor draw(int kind, at::IntArrayRef shape, double a, double b, const at::TensorOptions& opts,
                c10::optional<at::Generator> gen) {
  switch (kind) {
    case Normal: return at::randn(shape, gen, opts).mul_(b).add_(a);
    case Uniform: return at::rand(shape, gen, opts).mul_(b - a).add_(a);
    case Integer: return at::randint(static_cast<int64_t>(a), static_cast<int64_t>(b), shape, gen, opts);
  }
  throw std::invalid_argument("unknown random kind " + std::to_string(kind));
}

}  // namespace

CT_API int ct_manual_seed(uint64_t seed) { CT_STATUS(at::manual_seed(seed)) }

CT_API ct_generator ct_generator_new(uint64_t seed) {
  CT_TRY return new at::Generator(at::make_generator<at::CPUGeneratorImpl>(seed)); CT_CATCH(nullptr)
}
CT_API void ct_generator_free(ct_generator g) { delete static_cast<at::Generator*>(g); }

CT_API ct_tensor ct_rand(int kind, const int64_t* shape, int ndim, double a, double b, int dtype, int dev_type,
                         int dev_index, ct_generator gen) {
  CT_TRY
  auto opts = ct::options(dtype, dev_type, dev_index);
  if (gen != nullptr && dev_type != 0)
    return ct::wrap(draw(kind, ct::dims(shape, ndim), a, b, opts.device(at::kCPU), gen_of(gen)).to(opts.device()));
  return ct::wrap(draw(kind, ct::dims(shape, ndim), a, b, opts, gen_of(gen)));
  CT_CATCH(nullptr)
}

// In-place initialisers for parameters (kind: 0 normal(mean=a, std=b), 1 uniform[a, b)).
CT_API int ct_init_(int kind, ct_tensor t, double a, double b, ct_generator gen) {
  CT_TRY
  c10::NoGradGuard no_grad;
  auto& x = ct::T(t);
  if (gen != nullptr && !x.is_cpu()) {
    x.copy_(draw(kind, x.sizes(), a, b, x.options().device(at::kCPU).requires_grad(false), gen_of(gen)));
  } else if (kind == Normal) {
    x.normal_(a, b, gen_of(gen));
  } else if (kind == Uniform) {
    x.uniform_(a, b, gen_of(gen));
  } else {
    throw std::invalid_argument("unknown initialiser kind " + std::to_string(kind));
  }
  return 0;
  CT_CATCH(-1)
}

CT_API ct_tensor ct_bernoulli(ct_tensor probs, ct_generator gen) {
  CT_TRY
  auto& p = ct::T(probs);
  if (gen != nullptr && !p.is_cpu()) return ct::wrap(at::bernoulli(p.cpu(), gen_of(gen)).to(p.device()));
  return ct::wrap(at::bernoulli(p, gen_of(gen)));
  CT_CATCH(nullptr)
}

CT_API ct_tensor ct_randperm(int64_t n, int dev_type, int dev_index, ct_generator gen) {
  CT_TRY
  auto opts = ct::options(static_cast<int>(at::kLong), dev_type, dev_index);
  if (gen != nullptr && dev_type != 0) return ct::wrap(at::randperm(n, gen_of(gen), opts.device(at::kCPU)).to(opts.device()));
  return ct::wrap(at::randperm(n, gen_of(gen), opts));
  CT_CATCH(nullptr)
}
