using Cluster.Torch.Native;

namespace Cluster.Torch;

// Elementwise maths, matrix products and reductions, with PyTorch's names and broadcasting.
public partial class Tensor
{
    private Tensor Unary(UnaryOp op)
    {
        var r = LibTorch.ct_unary_raw(op, Raw);
        GC.KeepAlive(handle);
        return Wrap(r);
    }

    private Tensor UnaryInPlace(UnaryOp op)
    {
        TorchException.Check(LibTorch.ct_unary_(op, Handle));
        return this;
    }

    private Tensor Binary(BinaryOp op, Tensor other, double alpha = 1)
    {
        var r = LibTorch.ct_binary_raw(op, Raw, other.Raw, alpha);
        GC.KeepAlive(handle);
        GC.KeepAlive(other.handle);
        return Wrap(r);
    }

    private Tensor BinaryInPlace(BinaryOp op, Tensor other, double alpha = 1)
    {
        TorchException.Check(LibTorch.ct_binary_(op, Handle, other.Handle, alpha));
        return this;
    }

    private Tensor Scalar(BinaryOp op, double value)
    {
        var r = LibTorch.ct_binary_scalar_raw(op, Raw, value);
        GC.KeepAlive(handle);
        return Wrap(r);
    }

    private Tensor ScalarInPlace(BinaryOp op, double value)
    {
        TorchException.Check(LibTorch.ct_binary_scalar_(op, Handle, value));
        return this;
    }

    // ---- unary ----
    public Tensor neg() => Unary(UnaryOp.Neg);
    public Tensor exp() => Unary(UnaryOp.Exp);
    public Tensor log() => Unary(UnaryOp.Log);
    public Tensor log1p() => Unary(UnaryOp.Log1p);
    public Tensor sqrt() => Unary(UnaryOp.Sqrt);
    public Tensor rsqrt() => Unary(UnaryOp.Rsqrt);
    public Tensor tanh() => Unary(UnaryOp.Tanh);
    public Tensor relu() => Unary(UnaryOp.Relu);
    public Tensor silu() => Unary(UnaryOp.Silu);
    public Tensor sigmoid() => Unary(UnaryOp.Sigmoid);
    public Tensor abs() => Unary(UnaryOp.Abs);
    public Tensor erf() => Unary(UnaryOp.Erf);
    public Tensor sin() => Unary(UnaryOp.Sin);
    public Tensor cos() => Unary(UnaryOp.Cos);
    public Tensor floor() => Unary(UnaryOp.Floor);
    public Tensor ceil() => Unary(UnaryOp.Ceil);
    public Tensor round() => Unary(UnaryOp.Round);
    public Tensor reciprocal() => Unary(UnaryOp.Reciprocal);
    public Tensor sign() => Unary(UnaryOp.Sign);
    public Tensor isnan() => Unary(UnaryOp.IsNan);
    public Tensor logical_not() => Unary(UnaryOp.LogicalNot);

    public Tensor neg_() => UnaryInPlace(UnaryOp.Neg);
    public Tensor exp_() => UnaryInPlace(UnaryOp.Exp);
    public Tensor log_() => UnaryInPlace(UnaryOp.Log);
    public Tensor sqrt_() => UnaryInPlace(UnaryOp.Sqrt);
    public Tensor tanh_() => UnaryInPlace(UnaryOp.Tanh);
    public Tensor relu_() => UnaryInPlace(UnaryOp.Relu);
    public Tensor sigmoid_() => UnaryInPlace(UnaryOp.Sigmoid);
    public Tensor abs_() => UnaryInPlace(UnaryOp.Abs);

    // ---- binary, with broadcasting ----
    public Tensor add(Tensor other, double alpha = 1) => Binary(BinaryOp.Add, other, alpha);
    public Tensor add(double value) => Scalar(BinaryOp.Add, value);
    public Tensor sub(Tensor other, double alpha = 1) => Binary(BinaryOp.Sub, other, alpha);
    public Tensor sub(double value) => Scalar(BinaryOp.Sub, value);
    public Tensor mul(Tensor other) => Binary(BinaryOp.Mul, other);
    public Tensor mul(double value) => Scalar(BinaryOp.Mul, value);
    public Tensor div(Tensor other) => Binary(BinaryOp.Div, other);
    public Tensor div(double value) => Scalar(BinaryOp.Div, value);
    public Tensor pow(Tensor exponent) => Binary(BinaryOp.Pow, exponent);
    public Tensor pow(double exponent) => Scalar(BinaryOp.Pow, exponent);
    public Tensor remainder(Tensor other) => Binary(BinaryOp.Remainder, other);
    public Tensor remainder(double value) => Scalar(BinaryOp.Remainder, value);
    public Tensor floor_divide(Tensor other) => Binary(BinaryOp.FloorDivide, other);
    public Tensor floor_divide(double value) => Scalar(BinaryOp.FloorDivide, value);
    public Tensor maximum(Tensor other) => Binary(BinaryOp.Maximum, other);
    public Tensor minimum(Tensor other) => Binary(BinaryOp.Minimum, other);
    public Tensor clamp_min(double min) => Scalar(BinaryOp.Maximum, min);
    public Tensor clamp_max(double max) => Scalar(BinaryOp.Minimum, max);
    public Tensor clamp(double? min = null, double? max = null) =>
        Wrap(LibTorch.ct_clamp(Handle, min ?? double.NaN, max ?? double.NaN));

    public Tensor eq(Tensor other) => Binary(BinaryOp.Eq, other);
    public Tensor eq(double value) => Scalar(BinaryOp.Eq, value);
    public Tensor ne(Tensor other) => Binary(BinaryOp.Ne, other);
    public Tensor ne(double value) => Scalar(BinaryOp.Ne, value);
    public Tensor lt(Tensor other) => Binary(BinaryOp.Lt, other);
    public Tensor lt(double value) => Scalar(BinaryOp.Lt, value);
    public Tensor le(Tensor other) => Binary(BinaryOp.Le, other);
    public Tensor le(double value) => Scalar(BinaryOp.Le, value);
    public Tensor gt(Tensor other) => Binary(BinaryOp.Gt, other);
    public Tensor gt(double value) => Scalar(BinaryOp.Gt, value);
    public Tensor ge(Tensor other) => Binary(BinaryOp.Ge, other);
    public Tensor ge(double value) => Scalar(BinaryOp.Ge, value);
    public Tensor logical_and(Tensor other) => Binary(BinaryOp.LogicalAnd, other);
    public Tensor logical_or(Tensor other) => Binary(BinaryOp.LogicalOr, other);

    public Tensor add_(Tensor other, double alpha = 1) => BinaryInPlace(BinaryOp.Add, other, alpha);
    public Tensor add_(double value) => ScalarInPlace(BinaryOp.Add, value);
    public Tensor sub_(Tensor other, double alpha = 1) => BinaryInPlace(BinaryOp.Sub, other, alpha);
    public Tensor sub_(double value) => ScalarInPlace(BinaryOp.Sub, value);
    public Tensor mul_(Tensor other) => BinaryInPlace(BinaryOp.Mul, other);
    public Tensor mul_(double value) => ScalarInPlace(BinaryOp.Mul, value);
    public Tensor div_(Tensor other) => BinaryInPlace(BinaryOp.Div, other);
    public Tensor div_(double value) => ScalarInPlace(BinaryOp.Div, value);
    public Tensor pow_(double exponent) => ScalarInPlace(BinaryOp.Pow, exponent);
    public Tensor clamp_min_(double min) => ScalarInPlace(BinaryOp.Maximum, min);
    public Tensor clamp_max_(double max) => ScalarInPlace(BinaryOp.Minimum, max);

    public Tensor masked_fill(Tensor mask, double value) => Wrap(LibTorch.ct_masked_fill(Handle, mask.Handle, value));

    public Tensor tril(long diagonal = 0) => Wrap(LibTorch.ct_tril(Handle, diagonal, 0));
    public Tensor triu(long diagonal = 0) => Wrap(LibTorch.ct_tril(Handle, diagonal, 1));

    // ---- matrix products ----
    public Tensor matmul(Tensor other) => Binary(BinaryOp.MatMul, other);
    public Tensor bmm(Tensor other) => Binary(BinaryOp.Bmm, other);

    // ---- operators ----
    public static Tensor operator +(Tensor a, Tensor b) => a.add(b);
    public static Tensor operator +(Tensor a, double b) => a.add(b);
    public static Tensor operator +(double a, Tensor b) => b.add(a);
    public static Tensor operator -(Tensor a, Tensor b) => a.sub(b);
    public static Tensor operator -(Tensor a, double b) => a.sub(b);
    public static Tensor operator -(double a, Tensor b) => Wrap(LibTorch.ct_rsub_scalar(a, b.Handle));
    public static Tensor operator *(Tensor a, Tensor b) => a.mul(b);
    public static Tensor operator *(Tensor a, double b) => a.mul(b);
    public static Tensor operator *(double a, Tensor b) => b.mul(a);
    public static Tensor operator /(Tensor a, Tensor b) => a.div(b);
    public static Tensor operator /(Tensor a, double b) => a.div(b);
    public static Tensor operator -(Tensor a) => a.neg();

    // ---- reductions ----
    private unsafe Tensor Reduce(ReduceOp op, ReadOnlySpan<long> dims, bool keepdim, ScalarType? dtype)
    {
        fixed (long* p = dims)
            return Wrap(LibTorch.ct_reduce(op, Handle, p, dims.Length, keepdim ? 1 : 0, dtype.HasValue ? (int)dtype.Value : -1));
    }

    // The all-dimension forms take dims as an array (null: all), never a leading dtype, because C#
    // converts the literal 0 to any enum: sum(0) must mean dimension 0.
    public Tensor sum(long[]? dims = null, bool keepdim = false, ScalarType? dtype = null) => Reduce(ReduceOp.Sum, dims, keepdim, dtype);
    public Tensor sum(long dim, bool keepdim = false, ScalarType? dtype = null) => Reduce(ReduceOp.Sum, [dim], keepdim, dtype);
    public Tensor mean(long[]? dims = null, bool keepdim = false, ScalarType? dtype = null) => Reduce(ReduceOp.Mean, dims, keepdim, dtype);
    public Tensor mean(long dim, bool keepdim = false, ScalarType? dtype = null) => Reduce(ReduceOp.Mean, [dim], keepdim, dtype);
    public Tensor prod() => Reduce(ReduceOp.Prod, default, false, null);
    public Tensor prod(long dim, bool keepdim = false, ScalarType? dtype = null) => Reduce(ReduceOp.Prod, [dim], keepdim, dtype);
    public Tensor all() => Reduce(ReduceOp.All, default, false, null);
    public Tensor all(long dim, bool keepdim = false) => Reduce(ReduceOp.All, [dim], keepdim, null);
    public Tensor any() => Reduce(ReduceOp.Any, default, false, null);
    public Tensor any(long dim, bool keepdim = false) => Reduce(ReduceOp.Any, [dim], keepdim, null);
    public Tensor amax(params long[] dims) => Reduce(ReduceOp.Amax, dims, false, null);
    public Tensor amin(params long[] dims) => Reduce(ReduceOp.Amin, dims, false, null);

    /// <summary>The largest element.</summary>
    public Tensor max() => Reduce(ReduceOp.Amax, default, false, null);

    /// <summary>The smallest element.</summary>
    public Tensor min() => Reduce(ReduceOp.Amin, default, false, null);

    public (Tensor values, Tensor indices) max(long dim, bool keepdim = false)
    {
        TorchException.Check(LibTorch.ct_max_dim(Handle, dim, keepdim ? 1 : 0, 0, out var v, out var i));
        return (Wrap(v), Wrap(i));
    }

    public (Tensor values, Tensor indices) min(long dim, bool keepdim = false)
    {
        TorchException.Check(LibTorch.ct_max_dim(Handle, dim, keepdim ? 1 : 0, 1, out var v, out var i));
        return (Wrap(v), Wrap(i));
    }

    public Tensor argmax(long? dim = null, bool keepdim = false) =>
        Wrap(LibTorch.ct_argmax(Handle, dim ?? 0, dim.HasValue ? 1 : 0, keepdim ? 1 : 0, 0));

    public Tensor argmin(long? dim = null, bool keepdim = false) =>
        Wrap(LibTorch.ct_argmax(Handle, dim ?? 0, dim.HasValue ? 1 : 0, keepdim ? 1 : 0, 1));

    public (Tensor values, Tensor indices) topk(long k, long dim = -1, bool largest = true, bool sorted = true)
    {
        TorchException.Check(LibTorch.ct_topk(Handle, k, dim, largest ? 1 : 0, sorted ? 1 : 0, out var v, out var i));
        return (Wrap(v), Wrap(i));
    }

    public unsafe Tensor norm(double p = 2, long[]? dims = null, bool keepdim = false)
    {
        fixed (long* d = dims)
            return Wrap(LibTorch.ct_norm(Handle, p, d, dims?.Length ?? 0, keepdim ? 1 : 0));
    }

    public Tensor cumsum(long dim, ScalarType? dtype = null) =>
        Wrap(LibTorch.ct_cumsum(Handle, dim, dtype.HasValue ? (int)dtype.Value : -1));
}
