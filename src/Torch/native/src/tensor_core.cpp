// Tensor lifetime, metadata, creation and copies.
#include <sstream>

#include "common.h"

CT_API void ct_tensor_free(ct_tensor t) {
  if (t == nullptr) return;
  delete static_cast<at::Tensor*>(t);
  ct::live_tensors.fetch_sub(1, std::memory_order_relaxed);
}

CT_API const int64_t* ct_tensor_sizes(ct_tensor t, int* ndim) {
  CT_TRY
  auto sizes = ct::T(t).sizes();
  *ndim = static_cast<int>(sizes.size());
  return sizes.data();
  CT_CATCH(nullptr)
}

CT_API int ct_tensor_dtype(ct_tensor t) { CT_TRY return static_cast<int>(ct::T(t).scalar_type()); CT_CATCH(-1) }

CT_API int ct_tensor_device(ct_tensor t, int* type, int* index) {
  CT_TRY
  auto d = ct::T(t).device();
  *type = d.is_cuda() ? 1 : 0;
  *index = d.has_index() ? d.index() : 0;
  return 0;
  CT_CATCH(-1)
}

CT_API int64_t ct_tensor_numel(ct_tensor t) { CT_TRY return ct::T(t).numel(); CT_CATCH(-1) }
CT_API int ct_tensor_is_contiguous(ct_tensor t) { CT_TRY return ct::T(t).is_contiguous() ? 1 : 0; CT_CATCH(-1) }
CT_API int ct_tensor_requires_grad(ct_tensor t) { CT_TRY return ct::T(t).requires_grad() ? 1 : 0; CT_CATCH(-1) }
CT_API int ct_tensor_set_requires_grad(ct_tensor t, int r) { CT_STATUS(ct::T(t).set_requires_grad(r != 0)) }
CT_API int ct_tensor_is_leaf(ct_tensor t) { CT_TRY return ct::T(t).is_leaf() ? 1 : 0; CT_CATCH(-1) }

CT_API void* ct_tensor_data_ptr(ct_tensor t) {
  CT_TRY
  auto& x = ct::T(t);
  if (!x.is_cpu()) throw std::runtime_error("data_ptr needs a CPU tensor, got one on " + x.device().str());
  if (!x.is_contiguous()) throw std::runtime_error("data_ptr needs a contiguous tensor");
  return x.data_ptr();
  CT_CATCH(nullptr)
}

CT_API char* ct_tensor_to_string(ct_tensor t) {
  CT_TRY
  std::ostringstream s;
  s << ct::T(t);
  return strdup(s.str().c_str());
  CT_CATCH(nullptr)
}

CT_API void ct_string_free(char* s) { free(s); }

CT_API int ct_tensor_item(ct_tensor t, double* as_double, int64_t* as_int64) {
  CT_TRY
  auto v = ct::T(t).item();
  if (v.isIntegral(/*includeBool=*/true)) {
    *as_int64 = v.toLong();
    *as_double = static_cast<double>(*as_int64);
  } else {
    *as_double = v.toDouble();
    *as_int64 = static_cast<int64_t>(*as_double);
  }
  return 0;
  CT_CATCH(-1)
}

// at:: factories ignore requires_grad in TensorOptions (only torch:: wrappers honour it), so the
// flag is set on the result.
static at::Tensor leaf(at::Tensor t, int requires_grad) {
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

CT_API ct_tensor ct_empty(const int64_t* shape, int ndim, int dtype, int dev_type, int dev_index, int rg) {
  CT_TENSOR(leaf(at::empty(ct::dims(shape, ndim), ct::options(dtype, dev_type, dev_index)), rg))
}

CT_API ct_tensor ct_full(const int64_t* shape, int ndim, double value, int dtype, int dev_type, int dev_index, int rg) {
  CT_TENSOR(leaf(at::full(ct::dims(shape, ndim), value, ct::options(dtype, dev_type, dev_index)), rg))
}

CT_API ct_tensor ct_arange(double start, double end, double step, int dtype, int dev_type, int dev_index) {
  CT_TENSOR(at::arange(start, end, step, ct::options(dtype, dev_type, dev_index)))
}

// Wraps memory the caller owns (a pinned .NET array); deleter runs when the last view dies.
CT_API ct_tensor ct_from_blob(void* data, const int64_t* shape, int ndim, int dtype, ct_deleter deleter, void* context) {
  CT_TRY
  auto opts = at::TensorOptions().dtype(ct::dtype(dtype));
  auto release = [deleter, context](void*) { if (deleter) deleter(context); };
  return ct::wrap(at::from_blob(data, ct::dims(shape, ndim), release, opts));
  CT_CATCH(nullptr)
}

CT_API ct_tensor ct_clone(ct_tensor t) { CT_TENSOR(ct::T(t).clone()) }
CT_API ct_tensor ct_contiguous(ct_tensor t) { CT_TENSOR(ct::T(t).contiguous()) }
CT_API ct_tensor ct_detach(ct_tensor t) { CT_TENSOR(ct::T(t).detach()) }

CT_API ct_tensor ct_to(ct_tensor t, int dtype, int dev_type, int dev_index, int copy) {
  CT_TRY
  auto& x = ct::T(t);
  auto target_dtype = dtype < 0 ? x.scalar_type() : ct::dtype(dtype);
  auto target_device = dev_type < 0 ? x.device() : ct::device(dev_type, dev_index);
  return ct::wrap(x.to(target_device, target_dtype, /*non_blocking=*/false, copy != 0));
  CT_CATCH(nullptr)
}

CT_API int ct_copy_(ct_tensor dst, ct_tensor src) { CT_STATUS(ct::T(dst).copy_(ct::T(src))) }
CT_API int ct_fill_(ct_tensor t, double value) { CT_STATUS(ct::T(t).fill_(value)) }

// Swaps a parameter's storage (module.to(device)) while keeping its identity and handle.
CT_API int ct_set_data(ct_tensor t, ct_tensor src) { CT_STATUS(ct::T(t).set_data(ct::T(src))) }
