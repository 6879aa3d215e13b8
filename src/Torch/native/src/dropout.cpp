// Dropout. On the CPU libtorch draws the mask with one Mersenne Twister, one element at a time on
// one thread: about 12 ns an element, so in roberta-base training at 512 tokens the masks on the
// attention probabilities alone cost more than the softmax they follow. Here the mask comes from a
// counter-based generator (each element's bits are a pure function of a seed and its index), so
// all threads fill it at once and the result does not depend on how many there are. The seed is
// drawn from the default CPU generator, so torch.manual_seed still makes training repeatable.
// Other devices (CUDA has its own counter-based kernel) and dtypes keep libtorch's dropout.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <mutex>

#include "common.h"

namespace {

// SplitMix64's finaliser: a bijection on 64-bit words whose outputs over consecutive counters pass
// BigCrush; two 32-bit halves give two elements' draws.
inline uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t next_seed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

// keep[i] = (32 random bits of element i) >= p·2³², i.e. kept with probability 1 - p.
at::Tensor keep_mask(at::IntArrayRef sizes, double p) {
  auto mask = at::empty(sizes, at::TensorOptions().dtype(at::kBool));
  const int64_t n = mask.numel();
  bool* keep = mask.data_ptr<bool>();
  const uint64_t seed = next_seed();
  const uint64_t threshold = static_cast<uint64_t>(std::ldexp(p, 32));
  at::parallel_for(0, (n + 1) / 2, 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t pair = begin; pair < end; pair++) {
      const uint64_t bits = mix(seed + static_cast<uint64_t>(pair + 1) * 0x9E3779B97F4A7C15ULL);
      keep[2 * pair] = (bits & 0xFFFFFFFFULL) >= threshold;
      if (2 * pair + 1 < n) keep[2 * pair + 1] = (bits >> 32) >= threshold;
    }
  });
  return mask;
}

// x · keep · scale in one pass. A dropped NaN stays NaN, as in x * mask * scale.
at::Tensor masked_scale(const at::Tensor& x, const at::Tensor& mask, double scale) {
  auto in = x.contiguous();
  auto out = at::empty_like(in, at::MemoryFormat::Contiguous);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, in.scalar_type(), "ct_dropout", [&] {
    using math_t = at::opmath_type<scalar_t>;
    const scalar_t* src = in.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    const bool* keep = mask.data_ptr<bool>();
    const math_t s = static_cast<math_t>(scale);
    at::parallel_for(0, in.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++)
        dst[i] = static_cast<scalar_t>(static_cast<math_t>(src[i]) * (keep[i] ? s : math_t(0)));
    });
  });
  return out;
}

struct CpuDropout : public torch::autograd::Function<CpuDropout> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, double p) {
    auto mask = keep_mask(x.sizes(), p);
    const double scale = 1.0 / (1.0 - p);
    ctx->save_for_backward({mask});
    ctx->saved_data["scale"] = scale;
    return masked_scale(x, mask, scale);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto mask = ctx->get_saved_variables()[0];
    const double scale = ctx->saved_data["scale"].toDouble();
    // Under create_graph the gradient must itself be differentiable: use libtorch's op.
    auto grad = at::GradMode::is_enabled() ? at::native_dropout_backward(grads[0], mask, scale)
                                           : masked_scale(grads[0], mask, scale);
    return {grad, at::Tensor()};
  }
};

}  // namespace

namespace ct {

at::Tensor dropout(const at::Tensor& x, double p, bool train) {
  if (train && p > 0 && p < 1 && x.is_cpu() && x.numel() > 0 && !x.is_sparse() && at::isFloatingType(x.scalar_type()))
    return CpuDropout::apply(x, p);
  return at::dropout(x, p, train);
}

}  // namespace ct

CT_API ct_tensor ct_dropout(ct_tensor x, double p, int train) { CT_TENSOR(ct::dropout(ct::T(x), p, train != 0)) }
