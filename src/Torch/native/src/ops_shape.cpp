// Views, reshapes, indexing and joins.
#include "common.h"

CT_API ct_tensor ct_view(ct_tensor a, const int64_t* shape, int ndim, int reshape) {
  CT_TENSOR(reshape ? ct::T(a).reshape(ct::dims(shape, ndim)) : ct::T(a).view(ct::dims(shape, ndim)))
}
CT_API ct_tensor ct_permute(ct_tensor a, const int64_t* d, int n) { CT_TENSOR(ct::T(a).permute(ct::dims(d, n))) }
CT_API ct_tensor ct_transpose(ct_tensor a, int64_t d0, int64_t d1) { CT_TENSOR(ct::T(a).transpose(d0, d1)) }
CT_API ct_tensor ct_slice(ct_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step) {
  CT_TENSOR(ct::T(a).slice(dim, start, end, step))
}
CT_API ct_tensor ct_narrow(ct_tensor a, int64_t dim, int64_t start, int64_t length) {
  CT_TENSOR(ct::T(a).narrow(dim, start, length))
}
CT_API ct_tensor ct_select(ct_tensor a, int64_t dim, int64_t index) { CT_TENSOR(ct::T(a).select(dim, index)) }
CT_API ct_tensor ct_index_select(ct_tensor a, int64_t dim, ct_tensor index) {
  CT_TENSOR(ct::T(a).index_select(dim, ct::T(index)))
}
CT_API ct_tensor ct_gather(ct_tensor a, int64_t dim, ct_tensor index) { CT_TENSOR(ct::T(a).gather(dim, ct::T(index))) }
CT_API ct_tensor ct_scatter(ct_tensor a, int64_t dim, ct_tensor index, ct_tensor src) {
  CT_TENSOR(ct::T(a).scatter(dim, ct::T(index), ct::T(src)))
}
CT_API ct_tensor ct_expand(ct_tensor a, const int64_t* shape, int n) { CT_TENSOR(ct::T(a).expand(ct::dims(shape, n))) }
CT_API ct_tensor ct_repeat(ct_tensor a, const int64_t* r, int n) { CT_TENSOR(ct::T(a).repeat(ct::dims(r, n))) }
CT_API ct_tensor ct_squeeze(ct_tensor a, int64_t dim, int all) { CT_TENSOR(all ? ct::T(a).squeeze() : ct::T(a).squeeze(dim)) }
CT_API ct_tensor ct_unsqueeze(ct_tensor a, int64_t dim) { CT_TENSOR(ct::T(a).unsqueeze(dim)) }
CT_API ct_tensor ct_flatten(ct_tensor a, int64_t start, int64_t end) { CT_TENSOR(ct::T(a).flatten(start, end)) }
CT_API ct_tensor ct_as_strided(ct_tensor a, const int64_t* size, const int64_t* stride, int ndim, int64_t offset) {
  CT_TENSOR(ct::T(a).as_strided(ct::dims(size, ndim), ct::dims(stride, ndim), offset))
}

CT_API ct_tensor ct_cat(const ct_tensor* ts, int n, int64_t dim, int stack) {
  CT_TRY
  auto list = ct::tensors(ts, n);
  return ct::wrap(stack ? at::stack(list, dim) : at::cat(list, dim));
  CT_CATCH(nullptr)
}

CT_API int ct_split(ct_tensor a, const int64_t* sizes, int n, int64_t dim, ct_tensor* out) {
  CT_TRY
  auto parts = ct::T(a).split_with_sizes(ct::dims(sizes, n), dim);
  for (size_t i = 0; i < parts.size(); i++) out[i] = ct::wrap(parts[i]);
  return 0;
  CT_CATCH(-1)
}
