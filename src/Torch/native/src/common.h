// Helpers shared by the shim's translation units: handle wrapping, device/dtype decoding and
// the try/catch that keeps C++ exceptions on this side of the ABI.
#pragma once
#include <ATen/ATen.h>
#include <torch/version.h>

#include <atomic>
#include <string>
#include <vector>

#include "clustertorch.h"

#define CT_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace ct {

void set_error(const char* message);
extern std::atomic<int64_t> live_tensors;

inline ct_tensor wrap(at::Tensor t) {
  live_tensors.fetch_add(1, std::memory_order_relaxed);
  return new at::Tensor(std::move(t));
}

inline at::Tensor& T(ct_tensor h) {
  if (h == nullptr) throw std::invalid_argument("null tensor handle");
  return *static_cast<at::Tensor*>(h);
}

// An optional tensor argument: NULL means "not given".
inline c10::optional<at::Tensor> opt(ct_tensor h) {
  if (h == nullptr) return c10::nullopt;
  return *static_cast<at::Tensor*>(h);
}

inline at::IntArrayRef dims(const int64_t* p, int n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }

// Validates the device before libtorch sees it, so that asking for CUDA on a CPU-only
// machine says so plainly instead of naming a dispatch key.
at::Device device(int type, int index);
at::ScalarType dtype(int code);
at::TensorOptions options(int dtype_code, int dev_type, int dev_index);
std::vector<at::Tensor> tensors(const ct_tensor* hs, int n);

// F.dropout, with a parallel mask generator on the CPU (dropout.cpp).
at::Tensor dropout(const at::Tensor& x, double p, bool train);

// Runs f; a libtorch error gets both operands' shapes appended, since broadcasting errors
// otherwise name only the dimension that disagreed.
template <class F>
auto with_shapes(const at::Tensor& a, const at::Tensor& b, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string(e.what_without_backtrace()) + " (shapes " + c10::str(a.sizes()) + " and " +
                             c10::str(b.sizes()) + ")");
  }
}

}  // namespace ct

#define CT_TRY try {
#define CT_CATCH(failure)                                   \
  }                                                          \
  catch (const c10::Error& e) {                              \
    ct::set_error(e.what_without_backtrace());               \
    return failure;                                          \
  }                                                          \
  catch (const std::exception& e) {                          \
    ct::set_error(e.what());                                 \
    return failure;                                          \
  }                                                          \
  catch (...) {                                              \
    ct::set_error("unknown C++ exception in libclustertorch"); \
    return failure;                                          \
  }

// The common shapes of an entry point: a tensor result (NULL on failure) or a status (-1).
#define CT_TENSOR(expr) CT_TRY return ct::wrap(expr); CT_CATCH(nullptr)
#define CT_STATUS(stmt) CT_TRY stmt; return 0; CT_CATCH(-1)
