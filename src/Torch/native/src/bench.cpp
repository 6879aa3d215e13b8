// The pure C++ cost of an op, so a benchmark can separate binding overhead from libtorch's own.
#include <chrono>

#include "common.h"

CT_API double ct_bench_native_loop(int op, ct_tensor a, ct_tensor b, int64_t iterations) {
  CT_TRY
  auto& x = ct::T(a);
  auto& y = ct::T(b);
  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iterations; i++) {
    at::Tensor r;
    switch (op) {
      case 0: r = at::add(x, y); break;
      case 1: r = at::mul(x, y); break;
      case 2: r = at::matmul(x, y); break;
      case 3: r = x.view({-1}); break;
      default: throw std::invalid_argument("unknown bench op");
    }
  }
  auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  return ns / static_cast<double>(iterations);
  CT_CATCH(-1)
}
