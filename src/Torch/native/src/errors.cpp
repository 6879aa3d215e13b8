// Error storage, bookkeeping and the device/dtype decoding every entry point uses.
#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include "common.h"

namespace ct {

static thread_local std::string last_error;
std::atomic<int64_t> live_tensors{0};

void set_error(const char* message) { last_error = message ? message : "unknown error"; }

at::ScalarType dtype(int code) {
  switch (code) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 11: case 15:
      return static_cast<at::ScalarType>(code);
    default:
      throw std::invalid_argument("unsupported dtype code " + std::to_string(code));
  }
}

at::Device device(int type, int index) {
  if (type == 0) return at::Device(at::kCPU);
  if (type != 1) throw std::invalid_argument("unsupported device type " + std::to_string(type));
  std::string name = "cuda:" + std::to_string(index);
  if (!torch::cuda::is_available())
    throw std::runtime_error("device " + name + " requested but CUDA is not available (libtorch " +
                             std::string(TORCH_VERSION) + " without CUDA, or no GPU present)");
  int count = static_cast<int>(torch::cuda::device_count());
  if (index < 0 || index >= count)
    throw std::runtime_error("device " + name + " requested but only " + std::to_string(count) +
                             " CUDA device(s) are present");
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
}

at::TensorOptions options(int dtype_code, int dev_type, int dev_index) {
  return at::TensorOptions().dtype(dtype(dtype_code)).device(device(dev_type, dev_index));
}

std::vector<at::Tensor> tensors(const ct_tensor* hs, int n) {
  std::vector<at::Tensor> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; i++) out.push_back(T(hs[i]));
  return out;
}

}  // namespace ct

CT_API const char* ct_last_error(void) { return ct::last_error.c_str(); }
CT_API int64_t ct_live_tensors(void) { return ct::live_tensors.load(); }
CT_API const char* ct_torch_version(void) { return TORCH_VERSION; }

CT_API int ct_cuda_is_available(void) { CT_TRY return torch::cuda::is_available() ? 1 : 0; CT_CATCH(0) }
CT_API int ct_cuda_device_count(void) { CT_TRY return static_cast<int>(torch::cuda::device_count()); CT_CATCH(0) }
CT_API int ct_cuda_synchronize(int device_index) {
  CT_STATUS(ct::device(1, device_index < 0 ? 0 : device_index); torch::cuda::synchronize(device_index))
}

CT_API int ct_set_num_threads(int n) { CT_STATUS(at::set_num_threads(n)) }
CT_API int ct_get_num_threads(void) { return at::get_num_threads(); }
