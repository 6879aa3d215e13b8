// Elementwise maths, matrix products and reductions. Op codes mirror Native/OpCodes.cs.
#include "common.h"

namespace {

// Scalars keep their value type: an integer tensor plus 2 stays an integer tensor.
at::Scalar scalar_for(const at::Tensor& a, double v) {
  if (at::isFloatingType(a.scalar_type()) || v != static_cast<double>(static_cast<int64_t>(v))) return at::Scalar(v);
  return at::Scalar(static_cast<int64_t>(v));
}

enum Unary { Neg, Exp, Log, Sqrt, Rsqrt, Tanh, Relu, Silu, Sigmoid, Abs, LogicalNot, Erf, Sin, Cos, Floor, Ceil,
             Round, Reciprocal, Sign, IsNan, Log1p };
enum Binary { Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr, MatMul, Bmm,
              Remainder, FloorDivide };
enum Reduce { Sum, Mean, Prod, All, Any, Amax, Amin };

at::Tensor unary(int op, const at::Tensor& a) {
  switch (op) {
    case Neg: return a.neg();
    case Exp: return a.exp();
    case Log: return a.log();
    case Sqrt: return a.sqrt();
    case Rsqrt: return a.rsqrt();
    case Tanh: return a.tanh();
    case Relu: return a.relu();
    case Silu: return at::silu(a);
    case Sigmoid: return a.sigmoid();
    case Abs: return a.abs();
    case LogicalNot: return a.logical_not();
    case Erf: return a.erf();
    case Sin: return a.sin();
    case Cos: return a.cos();
    case Floor: return a.floor();
    case Ceil: return a.ceil();
    case Round: return a.round();
    case Reciprocal: return a.reciprocal();
    case Sign: return a.sign();
    case IsNan: return a.isnan();
    case Log1p: return a.log1p();
  }
  throw std::invalid_argument("unknown unary op " + std::to_string(op));
}

void unary_(int op, at::Tensor& a) {
  switch (op) {
    case Neg: a.neg_(); return;
    case Exp: a.exp_(); return;
    case Log: a.log_(); return;
    case Sqrt: a.sqrt_(); return;
    case Rsqrt: a.rsqrt_(); return;
    case Tanh: a.tanh_(); return;
    case Relu: a.relu_(); return;
    case Sigmoid: a.sigmoid_(); return;
    case Abs: a.abs_(); return;
    case Reciprocal: a.reciprocal_(); return;
  }
  throw std::invalid_argument("unary op " + std::to_string(op) + " has no in-place form");
}

at::Tensor binary(int op, const at::Tensor& a, const at::Tensor& b, double alpha) {
  switch (op) {
    case Add: return at::add(a, b, scalar_for(a, alpha));
    case Sub: return at::sub(a, b, scalar_for(a, alpha));
    case Mul: return at::mul(a, b);
    case Div: return at::div(a, b);
    case Pow: return at::pow(a, b);
    case Maximum: return at::maximum(a, b);
    case Minimum: return at::minimum(a, b);
    case Eq: return at::eq(a, b);
    case Ne: return at::ne(a, b);
    case Lt: return at::lt(a, b);
    case Le: return at::le(a, b);
    case Gt: return at::gt(a, b);
    case Ge: return at::ge(a, b);
    case LogicalAnd: return at::logical_and(a, b);
    case LogicalOr: return at::logical_or(a, b);
    case MatMul: return at::matmul(a, b);
    case Bmm: return at::bmm(a, b);
    case Remainder: return at::remainder(a, b);
    case FloorDivide: return at::div(a, b, "floor");
  }
  throw std::invalid_argument("unknown binary op " + std::to_string(op));
}

void binary_(int op, at::Tensor& a, const at::Tensor& b, double alpha) {
  switch (op) {
    case Add: a.add_(b, scalar_for(a, alpha)); return;
    case Sub: a.sub_(b, scalar_for(a, alpha)); return;
    case Mul: a.mul_(b); return;
    case Div: a.div_(b); return;
    case Pow: a.pow_(b); return;
    case Remainder: a.remainder_(b); return;
  }
  throw std::invalid_argument("binary op " + std::to_string(op) + " has no in-place form");
}

at::Tensor binary_scalar(int op, const at::Tensor& a, double v) {
  auto s = scalar_for(a, v);
  switch (op) {
    case Add: return at::add(a, s);
    case Sub: return at::sub(a, s);
    case Mul: return at::mul(a, s);
    case Div: return at::div(a, s);
    case Pow: return at::pow(a, s);
    case Maximum: return at::clamp_min(a, s);
    case Minimum: return at::clamp_max(a, s);
    case Eq: return at::eq(a, s);
    case Ne: return at::ne(a, s);
    case Lt: return at::lt(a, s);
    case Le: return at::le(a, s);
    case Gt: return at::gt(a, s);
    case Ge: return at::ge(a, s);
    case Remainder: return at::remainder(a, s);
    case FloorDivide: return at::div(a, s, "floor");
  }
  throw std::invalid_argument("binary op " + std::to_string(op) + " has no scalar form");
}

void binary_scalar_(int op, at::Tensor& a, double v) {
  auto s = scalar_for(a, v);
  switch (op) {
    case Add: a.add_(s); return;
    case Sub: a.sub_(s); return;
    case Mul: a.mul_(s); return;
    case Div: a.div_(s); return;
    case Pow: a.pow_(s); return;
    case Maximum: a.clamp_min_(s); return;
    case Minimum: a.clamp_max_(s); return;
  }
  throw std::invalid_argument("binary op " + std::to_string(op) + " has no in-place scalar form");
}

// all/any take one dimension at a time in libtorch 1.13: reduce the highest first so the
// remaining indices stay valid.
at::Tensor reduce_each(const at::Tensor& a, std::vector<int64_t> ds, bool keepdim, bool is_all) {
  for (auto& d : ds) d = c10::maybe_wrap_dim(d, a.dim());
  std::sort(ds.rbegin(), ds.rend());
  at::Tensor r = a;
  for (auto d : ds) r = is_all ? r.all(d, keepdim) : r.any(d, keepdim);
  return r;
}

at::Tensor reduce(int op, const at::Tensor& a, at::IntArrayRef ds, bool keepdim, c10::optional<at::ScalarType> dt) {
  bool whole = ds.empty();
  switch (op) {
    case Sum: return whole && !keepdim ? a.sum(dt) : a.sum(whole ? at::IntArrayRef() : ds, keepdim, dt);
    case Mean: return whole && !keepdim ? a.mean(dt) : a.mean(ds, keepdim, dt);
    case Prod:
      if (whole) return a.prod(dt);
      if (ds.size() != 1) throw std::invalid_argument("prod reduces over one dimension at a time");
      return a.prod(ds[0], keepdim, dt);
    case All: return whole ? a.all() : reduce_each(a, ds.vec(), keepdim, true);
    case Any: return whole ? a.any() : reduce_each(a, ds.vec(), keepdim, false);
    case Amax: return a.amax(ds, keepdim);
    case Amin: return a.amin(ds, keepdim);
  }
  throw std::invalid_argument("unknown reduction " + std::to_string(op));
}

}  // namespace

CT_API ct_tensor ct_unary(int op, ct_tensor a) { CT_TENSOR(unary(op, ct::T(a))) }
CT_API int ct_unary_(int op, ct_tensor a) { CT_STATUS(unary_(op, ct::T(a))) }
CT_API ct_tensor ct_binary(int op, ct_tensor a, ct_tensor b, double alpha) {
  CT_TENSOR(ct::with_shapes(ct::T(a), ct::T(b), [&] { return binary(op, ct::T(a), ct::T(b), alpha); }))
}
CT_API int ct_binary_(int op, ct_tensor a, ct_tensor b, double alpha) {
  CT_STATUS(ct::with_shapes(ct::T(a), ct::T(b), [&] { binary_(op, ct::T(a), ct::T(b), alpha); }))
}
CT_API ct_tensor ct_binary_scalar(int op, ct_tensor a, double b) { CT_TENSOR(binary_scalar(op, ct::T(a), b)) }
CT_API int ct_binary_scalar_(int op, ct_tensor a, double b) { CT_STATUS(binary_scalar_(op, ct::T(a), b)) }
CT_API ct_tensor ct_rsub_scalar(double a, ct_tensor b) { CT_TENSOR(at::rsub(ct::T(b), scalar_for(ct::T(b), a))) }

CT_API ct_tensor ct_clamp(ct_tensor a, double min, double max) {
  CT_TRY
  c10::optional<at::Scalar> lo, hi;
  if (!std::isnan(min)) lo = scalar_for(ct::T(a), min);
  if (!std::isnan(max)) hi = scalar_for(ct::T(a), max);
  return ct::wrap(at::clamp(ct::T(a), lo, hi));
  CT_CATCH(nullptr)
}

CT_API ct_tensor ct_where(ct_tensor cond, ct_tensor a, ct_tensor b) { CT_TENSOR(at::where(ct::T(cond), ct::T(a), ct::T(b))) }
CT_API ct_tensor ct_masked_fill(ct_tensor a, ct_tensor mask, double value) {
  CT_TENSOR(ct::with_shapes(ct::T(a), ct::T(mask), [&] { return ct::T(a).masked_fill(ct::T(mask), scalar_for(ct::T(a), value)); }))
}
CT_API ct_tensor ct_linear(ct_tensor x, ct_tensor w, ct_tensor b) {
  CT_TENSOR(ct::with_shapes(ct::T(x), ct::T(w), [&] { return at::linear(ct::T(x), ct::T(w), ct::opt(b)); }))
}
CT_API ct_tensor ct_einsum(const char* equation, const ct_tensor* operands, int n) {
  CT_TENSOR(at::einsum(equation, ct::tensors(operands, n)))
}
CT_API ct_tensor ct_tril(ct_tensor a, int64_t diagonal, int upper) {
  CT_TENSOR(upper ? ct::T(a).triu(diagonal) : ct::T(a).tril(diagonal))
}

CT_API ct_tensor ct_reduce(int op, ct_tensor a, const int64_t* ds, int nd, int keepdim, int dtype) {
  CT_TRY
  c10::optional<at::ScalarType> dt;
  if (dtype >= 0) dt = ct::dtype(dtype);
  return ct::wrap(reduce(op, ct::T(a), ct::dims(ds, nd), keepdim != 0, dt));
  CT_CATCH(nullptr)
}

CT_API int ct_max_dim(ct_tensor a, int64_t dim, int keepdim, int is_min, ct_tensor* values, ct_tensor* indices) {
  CT_TRY
  auto r = is_min ? ct::T(a).min(dim, keepdim != 0) : ct::T(a).max(dim, keepdim != 0);
  *values = ct::wrap(std::get<0>(r));
  *indices = ct::wrap(std::get<1>(r));
  return 0;
  CT_CATCH(-1)
}

CT_API ct_tensor ct_argmax(ct_tensor a, int64_t dim, int has_dim, int keepdim, int is_min) {
  CT_TRY
  c10::optional<int64_t> d;
  if (has_dim) d = dim;
  return ct::wrap(is_min ? ct::T(a).argmin(d, keepdim != 0) : ct::T(a).argmax(d, keepdim != 0));
  CT_CATCH(nullptr)
}

CT_API int ct_topk(ct_tensor a, int64_t k, int64_t dim, int largest, int sorted, ct_tensor* values, ct_tensor* indices) {
  CT_TRY
  auto r = ct::T(a).topk(k, dim, largest != 0, sorted != 0);
  *values = ct::wrap(std::get<0>(r));
  *indices = ct::wrap(std::get<1>(r));
  return 0;
  CT_CATCH(-1)
}

CT_API ct_tensor ct_norm(ct_tensor a, double p, const int64_t* ds, int nd, int keepdim) {
  CT_TRY
  auto& x = ct::T(a);
  if (nd == 0) return ct::wrap(at::norm(x, p));
  return ct::wrap(at::norm(x, p, ct::dims(ds, nd), keepdim != 0));
  CT_CATCH(nullptr)
}

CT_API ct_tensor ct_cumsum(ct_tensor a, int64_t dim, int dtype) {
  CT_TRY
  c10::optional<at::ScalarType> dt;
  if (dtype >= 0) dt = ct::dtype(dtype);
  return ct::wrap(ct::T(a).cumsum(dim, dt));
  CT_CATCH(nullptr)
}
