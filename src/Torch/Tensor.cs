using System.Runtime.InteropServices;
using Cluster.Torch.Native;

namespace Cluster.Torch;

/// <summary>
/// A libtorch tensor. Disposing frees the native handle; a tensor created inside a
/// <see cref="DisposeScope"/> is owned and freed by it. Method names follow PyTorch's.
/// </summary>
public partial class Tensor : IDisposable
{
    private readonly TensorHandle handle;

    internal DisposeScope? OwningScope;

    internal Tensor(IntPtr raw, bool attachToScope = true)
    {
        handle = new TensorHandle(TorchException.Check(raw));
        if (attachToScope) DisposeScope.Current?.Attach(this);
    }

    /// <summary>Wraps a fresh native result, throwing the native error when there is none.</summary>
    internal static Tensor Wrap(IntPtr raw) => new(raw);

    internal TensorHandle Handle =>
        handle.IsClosed ? throw new ObjectDisposedException(nameof(Tensor), "this tensor was disposed (explicitly or by its DisposeScope)") : handle;

    /// <summary>The raw native pointer, for the hot entry points; the caller must GC.KeepAlive(<see cref="Handle"/>) past the call.</summary>
    internal IntPtr Raw => Handle.DangerousGetHandle();

    public bool IsDisposed => handle.IsClosed;

    public void Dispose() => handle.Dispose(); // the SafeHandle is the only finalizable part

    // ---- ownership ----

    /// <summary>Hands this tensor to the scope outside its owner (or to the caller when there is none).</summary>
    public Tensor MoveToOuterDisposeScope()
    {
        var outer = OwningScope?.Outer;
        OwningScope = null;
        outer?.Attach(this);
        return this;
    }

    /// <summary>Takes this tensor out of every scope: the caller now disposes it.</summary>
    public Tensor DetachFromDisposeScope()
    {
        OwningScope = null;
        return this;
    }

    // ---- metadata ----

    public unsafe long[] shape
    {
        get
        {
            long* sizes = LibTorch.ct_tensor_sizes(Handle, out int ndim);
            if (sizes == null && ndim != 0) throw TorchException.FromNative();
            return new ReadOnlySpan<long>(sizes, ndim).ToArray();
        }
    }

    public unsafe int dim()
    {
        if (LibTorch.ct_tensor_sizes(Handle, out int ndim) == null && ndim != 0) throw TorchException.FromNative();
        return ndim;
    }

    public unsafe long size(int d)
    {
        long* sizes = LibTorch.ct_tensor_sizes(Handle, out int ndim);
        int i = d < 0 ? d + ndim : d;
        if (i < 0 || i >= ndim) throw new TorchException($"dimension {d} out of range for a {ndim}-d tensor");
        return sizes[i];
    }

    public long numel() => LibTorch.ct_tensor_numel(Handle);

    public ScalarType dtype => (ScalarType)TorchException.Check(LibTorch.ct_tensor_dtype(Handle));

    public Device device
    {
        get
        {
            TorchException.Check(LibTorch.ct_tensor_device(Handle, out int type, out int index));
            return new Device((DeviceType)type, index);
        }
    }

    public bool is_contiguous() => TorchException.Check(LibTorch.ct_tensor_is_contiguous(Handle)) == 1;

    public bool is_leaf => TorchException.Check(LibTorch.ct_tensor_is_leaf(Handle)) == 1;

    public bool requires_grad
    {
        get => TorchException.Check(LibTorch.ct_tensor_requires_grad(Handle)) == 1;
        set => TorchException.Check(LibTorch.ct_tensor_set_requires_grad(Handle, value ? 1 : 0));
    }

    public Tensor requires_grad_(bool value = true)
    {
        requires_grad = value;
        return this;
    }

    // ---- data in and out ----

    /// <summary>
    /// The tensor's memory, without a copy. Needs a contiguous CPU tensor of exactly type T; the span
    /// is valid only while the tensor lives.
    /// </summary>
    public unsafe Span<T> data<T>() where T : unmanaged
    {
        var expected = ScalarTypeExtensions.Of<T>();
        if (dtype != expected) throw new TorchException($"data<{typeof(T).Name}>() on a {dtype} tensor (needs {expected})");
        if (numel() == 0) return Span<T>.Empty; // libtorch gives empty tensors no data pointer
        var ptr = TorchException.Check(LibTorch.ct_tensor_data_ptr(Handle));
        return new Span<T>((void*)ptr, checked((int)numel()));
    }

    /// <summary>The raw bytes of a contiguous CPU tensor of any dtype, without a copy (for file formats).</summary>
    public unsafe Span<byte> bytes()
    {
        if (numel() == 0) return Span<byte>.Empty;
        var ptr = TorchException.Check(LibTorch.ct_tensor_data_ptr(Handle));
        return new Span<byte>((void*)ptr, checked((int)(numel() * dtype.ElementSize())));
    }

    /// <summary>Copies the elements out, converting dtype and moving to the CPU if needed.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var wanted = ScalarTypeExtensions.Of<T>();
        if (dtype == wanted && device.Type == DeviceType.CPU && is_contiguous()) return data<T>().ToArray();
        using var scope = torch.NewDisposeScope();
        return to(wanted, Device.CPU).contiguous().data<T>().ToArray();
    }

    /// <summary>The single element as T (like PyTorch's item()).</summary>
    public T item<T>() where T : unmanaged
    {
        TorchException.Check(LibTorch.ct_tensor_item(Handle, out double d, out long l));
        object boxed = typeof(T) switch
        {
            var t when t == typeof(double) => d,
            var t when t == typeof(float) => (float)d,
            var t when t == typeof(long) => l,
            var t when t == typeof(int) => checked((int)l),
            var t when t == typeof(bool) => l != 0,
            _ => throw new ArgumentException($"item<{typeof(T).Name}> is not supported"),
        };
        return (T)boxed;
    }

    /// <summary>libtorch's own rendering of the values.</summary>
    public string str()
    {
        var p = TorchException.Check(LibTorch.ct_tensor_to_string(Handle));
        try { return Marshal.PtrToStringUTF8(p) ?? ""; }
        finally { LibTorch.ct_string_free(p); }
    }

    public override string ToString() =>
        IsDisposed ? "Tensor(disposed)" : $"Tensor[{string.Join(", ", shape)}], {dtype}, {device}";

    // ---- copies, conversions, autograd ----

    public Tensor clone() => Wrap(LibTorch.ct_clone(Handle));

    public Tensor contiguous() => Wrap(LibTorch.ct_contiguous(Handle));

    public Tensor detach() => Wrap(LibTorch.ct_detach(Handle));

    public Tensor to(ScalarType dtype) => Wrap(LibTorch.ct_to(Handle, (int)dtype, -1, 0, 0));

    public Tensor to(Device device) => Wrap(LibTorch.ct_to(Handle, -1, (int)device.Type, device.Index, 0));

    public Tensor to(ScalarType dtype, Device device, bool copy = false) =>
        Wrap(LibTorch.ct_to(Handle, (int)dtype, (int)device.Type, device.Index, copy ? 1 : 0));

    public Tensor cpu() => to(Device.CPU);

    public Tensor type_as(Tensor other) => to(other.dtype);

    public Tensor copy_(Tensor src)
    {
        TorchException.Check(LibTorch.ct_copy_(Handle, src.Handle));
        return this;
    }

    public Tensor fill_(double value)
    {
        TorchException.Check(LibTorch.ct_fill_(Handle, value));
        return this;
    }

    public Tensor zero_() => fill_(0);

    /// <summary>Replaces the storage behind this tensor (keeping its identity), as PyTorch's <c>t.data = src</c>.</summary>
    internal void set_data(Tensor src) => TorchException.Check(LibTorch.ct_set_data(Handle, src.Handle));

    public void backward(Tensor? gradient = null, bool retain_graph = false) =>
        TorchException.Check(LibTorch.ct_backward(Handle, gradient?.Handle ?? TensorHandle.Null, retain_graph ? 1 : 0));

    /// <summary>The accumulated gradient (a tensor sharing its storage), or null. Setting it stores a copy, as
    /// PyTorch's <c>t.grad = g</c> does with a fresh tensor; setting null drops it.</summary>
    public Tensor? grad
    {
        get
        {
            TorchException.Check(LibTorch.ct_grad(Handle, out var g));
            return g == IntPtr.Zero ? null : Wrap(g);
        }
        set
        {
            if (value is null) clear_grad();
            else TorchException.Check(LibTorch.ct_set_grad(Handle, value.Handle));
        }
    }

    /// <summary>Drops the gradient (PyTorch's set_to_none zero_grad).</summary>
    public void clear_grad() => TorchException.Check(LibTorch.ct_clear_grad(Handle));
}
