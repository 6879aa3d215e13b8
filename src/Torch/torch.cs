using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Cluster.Torch.Native;

namespace Cluster.Torch;

/// <summary>The torch.* namespace: tensor creation, random numbers, grad modes and free functions.</summary>
public static partial class torch
{
    public static string __version__ => Marshal.PtrToStringUTF8(LibTorch.ct_torch_version()) ?? "unknown";

    /// <summary>Native tensor handles alive now, in the whole process (tests check it returns to its baseline).</summary>
    public static long LiveTensorCount => LibTorch.ct_live_tensors();

    public static DisposeScope NewDisposeScope() => new();

    /// <summary>libtorch's intra-op threads, and OpenBLAS's too where libtorch's matrix products go to a pthreads
    /// OpenBLAS (Debian's), which keeps a pool of one thread per core of its own otherwise. Both are per process.</summary>
    public static void set_num_threads(int n)
    {
        TorchException.Check(LibTorch.ct_set_num_threads(n));
        Native.OpenBlas.SetThreads(n);
    }

    public static int get_num_threads() => LibTorch.ct_get_num_threads();

    // ---- creation ----

    private static unsafe Tensor Full(ReadOnlySpan<long> shape, double value, ScalarType dtype, Device? device, bool requires_grad)
    {
        var d = device ?? Device.CPU;
        fixed (long* p = shape)
            return Tensor.Wrap(LibTorch.ct_full(p, shape.Length, value, (int)dtype, (int)d.Type, d.Index, requires_grad ? 1 : 0));
    }

    public static unsafe Tensor empty(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requires_grad = false)
    {
        var d = device ?? Device.CPU;
        fixed (long* p = shape)
            return Tensor.Wrap(LibTorch.ct_empty(p, shape.Length, (int)dtype, (int)d.Type, d.Index, requires_grad ? 1 : 0));
    }

    public static Tensor zeros(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requires_grad = false) =>
        Full(shape, 0, dtype, device, requires_grad);

    public static Tensor ones(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requires_grad = false) =>
        Full(shape, 1, dtype, device, requires_grad);

    public static Tensor full(long[] shape, double value, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requires_grad = false) =>
        Full(shape, value, dtype, device, requires_grad);

    public static Tensor zeros_like(Tensor t) => Full(t.shape, 0, t.dtype, t.device, false);

    public static Tensor ones_like(Tensor t) => Full(t.shape, 1, t.dtype, t.device, false);

    public static Tensor full_like(Tensor t, double value) => Full(t.shape, value, t.dtype, t.device, false);

    public static Tensor arange(double end, ScalarType dtype = ScalarType.Int64, Device? device = null) => arange(0, end, 1, dtype, device);

    public static Tensor arange(double start, double end, double step = 1, ScalarType dtype = ScalarType.Int64, Device? device = null)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(LibTorch.ct_arange(start, end, step, (int)dtype, (int)d.Type, d.Index));
    }

    /// <summary>A 0-d tensor holding one value.</summary>
    public static Tensor scalar_tensor(double value, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        Full(ReadOnlySpan<long>.Empty, value, dtype, device, false);

    /// <summary>A new tensor holding a copy of <paramref name="values"/> (one copy, straight into libtorch's memory).</summary>
    public static Tensor tensor<T>(ReadOnlySpan<T> values, long[] shape, ScalarType? dtype = null, Device? device = null, bool requires_grad = false)
        where T : unmanaged
    {
        long count = 1;
        foreach (var s in shape) count *= s;
        if (count != values.Length)
            throw new TorchException($"tensor: {values.Length} values do not fill shape [{string.Join(", ", shape)}] ({count} elements)");
        var native = ScalarTypeExtensions.Of<T>();
        var t = empty(shape, native);
        values.CopyTo(t.data<T>());
        bool convert = (dtype.HasValue && dtype.Value != native) || (device.HasValue && device.Value != Device.CPU);
        if (convert)
        {
            var converted = t.to(dtype ?? native, device ?? Device.CPU);
            t.Dispose();
            t = converted;
        }
        if (requires_grad) t.requires_grad_();
        return t;
    }

    public static Tensor tensor<T>(T[] values, params long[] shape) where T : unmanaged =>
        tensor<T>(values.AsSpan(), shape.Length == 0 ? [values.LongLength] : shape);

    public static Tensor tensor<T>(T[] values, long[] shape, ScalarType? dtype = null, Device? device = null, bool requires_grad = false)
        where T : unmanaged => tensor<T>(values.AsSpan(), shape, dtype, device, requires_grad);

    /// <summary>
    /// A CPU tensor over <paramref name="array"/>'s own memory, without a copy: writes through either
    /// side are seen by the other. The array stays pinned until the tensor's storage is freed.
    /// </summary>
    public static unsafe Tensor from_array<T>(T[] array, params long[] shape) where T : unmanaged
    {
        if (shape.Length == 0) shape = [array.LongLength];
        long count = 1;
        foreach (var s in shape) count *= s;
        if (count != array.LongLength)
            throw new TorchException($"from_array: {array.LongLength} values do not fill shape [{string.Join(", ", shape)}]");
        var pin = GCHandle.Alloc(array, GCHandleType.Pinned);
        fixed (long* p = shape)
        {
            var raw = LibTorch.ct_from_blob((void*)pin.AddrOfPinnedObject(), p, shape.Length,
                (int)ScalarTypeExtensions.Of<T>(), &ReleasePin, GCHandle.ToIntPtr(pin));
            if (raw == IntPtr.Zero)
            {
                pin.Free();
                throw TorchException.FromNative();
            }
            return Tensor.Wrap(raw);
        }
    }

    [UnmanagedCallersOnly]
    private static void ReleasePin(IntPtr context) => GCHandle.FromIntPtr(context).Free();

    // ---- random ----

    public static void manual_seed(ulong seed) => TorchException.Check(LibTorch.ct_manual_seed(seed));

    private static unsafe Tensor Random(RandomKind kind, long[] shape, double a, double b, ScalarType dtype, Device? device, Generator? generator)
    {
        var d = device ?? Device.CPU;
        fixed (long* p = shape)
            return Tensor.Wrap(LibTorch.ct_rand(kind, p, shape.Length, a, b, (int)dtype, (int)d.Type, d.Index, Generator.HandleOf(generator)));
    }

    public static Tensor randn(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, Generator? generator = null, bool requires_grad = false) =>
        Random(RandomKind.Normal, shape, 0, 1, dtype, device, generator).requires_grad_(requires_grad);

    public static Tensor rand(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, Generator? generator = null, bool requires_grad = false) =>
        Random(RandomKind.Uniform, shape, 0, 1, dtype, device, generator).requires_grad_(requires_grad);

    /// <summary>Integers in [low, high).</summary>
    public static Tensor randint(long low, long high, long[] shape, ScalarType dtype = ScalarType.Int64, Device? device = null, Generator? generator = null) =>
        Random(RandomKind.Integer, shape, low, high, dtype, device, generator);

    public static Tensor randperm(long n, Device? device = null, Generator? generator = null)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(LibTorch.ct_randperm(n, (int)d.Type, d.Index, Generator.HandleOf(generator)));
    }

    /// <summary>1 with probability p (elementwise), else 0.</summary>
    public static Tensor bernoulli(Tensor probabilities, Generator? generator = null) =>
        Tensor.Wrap(LibTorch.ct_bernoulli(probabilities.Handle, Generator.HandleOf(generator)));

    // ---- grad modes ----

    /// <summary>Disables gradient recording on this thread until disposed (torch.no_grad()).</summary>
    public static IDisposable no_grad() => new GradModeScope(enabled: false);

    public static IDisposable enable_grad() => new GradModeScope(enabled: true);

    public static bool is_grad_enabled() => LibTorch.ct_grad_enabled() == 1;

    /// <summary>torch.inference_mode(): no autograd bookkeeping at all; tensors made inside can never join a graph.</summary>
    public static IDisposable inference_mode() => new InferenceModeScope();

    /// <summary>torch.autocast(device, dtype): until disposed, this thread's ops on <paramref name="device"/>'s floating
    /// tensors run in the precision autocast gives each (matrix products in <paramref name="dtype"/>, bfloat16 or
    /// float16; softmax, norms and losses in float32), while parameters stay float32. Run backward outside it.</summary>
    public static IDisposable autocast(Device device, ScalarType dtype = ScalarType.BFloat16) => new AutocastScope(device, dtype);

    public static bool is_autocast_enabled(Device device) => LibTorch.ct_autocast_enabled((int)device.Type) == 1;

    private sealed class AutocastScope(Device device, ScalarType dtype) : IDisposable
    {
        private IntPtr guard = TorchException.Check(LibTorch.ct_autocast_enter((int)device.Type, (int)dtype));
        public void Dispose()
        {
            if (guard == IntPtr.Zero) return;
            LibTorch.ct_autocast_exit(guard);
            guard = IntPtr.Zero;
        }
    }

    private sealed class GradModeScope : IDisposable
    {
        private readonly int previous;
        private bool done;
        public GradModeScope(bool enabled) => previous = LibTorch.ct_set_grad_enabled(enabled ? 1 : 0);
        public void Dispose()
        {
            if (done) return;
            done = true;
            LibTorch.ct_set_grad_enabled(previous);
        }
    }

    private sealed class InferenceModeScope : IDisposable
    {
        private IntPtr guard = TorchException.Check(LibTorch.ct_inference_mode_enter());
        public void Dispose()
        {
            if (guard == IntPtr.Zero) return;
            LibTorch.ct_inference_mode_exit(guard);
            guard = IntPtr.Zero;
        }
    }

    // ---- free functions ----

    public static Tensor matmul(Tensor a, Tensor b) => a.matmul(b);

    public static Tensor bmm(Tensor a, Tensor b) => a.bmm(b);

    public static Tensor where(Tensor condition, Tensor a, Tensor b) => Tensor.Wrap(LibTorch.ct_where(condition.Handle, a.Handle, b.Handle));

    public static Tensor cat(IReadOnlyList<Tensor> tensors, long dim = 0) => Join(tensors, dim, stack: false);

    public static Tensor stack(IReadOnlyList<Tensor> tensors, long dim = 0) => Join(tensors, dim, stack: true);

    private static unsafe Tensor Join(IReadOnlyList<Tensor> tensors, long dim, bool stack)
    {
        var handles = HandlesOf(tensors);
        fixed (IntPtr* p = handles)
        {
            var r = LibTorch.ct_cat(p, handles.Length, dim, stack ? 1 : 0);
            GC.KeepAlive(tensors);
            return Tensor.Wrap(r);
        }
    }

    /// <summary>torch.einsum("bhqd,bhkd->bhqk", q, k).</summary>
    public static unsafe Tensor einsum(string equation, params Tensor[] operands)
    {
        var handles = HandlesOf(operands);
        fixed (IntPtr* p = handles)
        {
            var r = LibTorch.ct_einsum(equation, p, handles.Length);
            GC.KeepAlive(operands);
            return Tensor.Wrap(r);
        }
    }

    /// <summary>Raw handles for array-taking entry points; the caller keeps the tensors alive across the call.</summary>
    internal static IntPtr[] HandlesOf(IReadOnlyList<Tensor> tensors)
    {
        var handles = new IntPtr[tensors.Count];
        for (int i = 0; i < handles.Length; i++) handles[i] = tensors[i].Handle.DangerousGetHandle();
        return handles;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static double BenchNativeLoop(int op, Tensor a, Tensor b, long iterations) =>
        LibTorch.ct_bench_native_loop(op, a.Handle, b.Handle, iterations);
}
