using Cluster.Torch.Native;

namespace Cluster.Torch;

// Views, reshapes and indexing.
public partial class Tensor
{
    public unsafe Tensor view(params long[] shape)
    {
        IntPtr r;
        fixed (long* p = shape) r = LibTorch.ct_view_raw(Raw, p, shape.Length, 0);
        GC.KeepAlive(handle);
        return Wrap(r);
    }

    public unsafe Tensor reshape(params long[] shape)
    {
        fixed (long* p = shape) return Wrap(LibTorch.ct_view(Handle, p, shape.Length, 1));
    }

    public unsafe Tensor permute(params long[] dims)
    {
        fixed (long* p = dims) return Wrap(LibTorch.ct_permute(Handle, p, dims.Length));
    }

    public Tensor transpose(long dim0, long dim1) => Wrap(LibTorch.ct_transpose(Handle, dim0, dim1));

    /// <summary>Elements start..end-1 (step apart) of one dimension; end may exceed the size, as in Python.</summary>
    public Tensor slice(long dim, long start, long end, long step = 1) => Wrap(LibTorch.ct_slice(Handle, dim, start, end, step));

    public Tensor narrow(long dim, long start, long length) => Wrap(LibTorch.ct_narrow(Handle, dim, start, length));

    public Tensor select(long dim, long index) => Wrap(LibTorch.ct_select(Handle, dim, index));

    /// <summary>x[i]: the i-th slice along the first dimension.</summary>
    public Tensor this[long index] => select(0, index);

    public Tensor index_select(long dim, Tensor index) => Wrap(LibTorch.ct_index_select(Handle, dim, index.Handle));

    public Tensor gather(long dim, Tensor index) => Wrap(LibTorch.ct_gather(Handle, dim, index.Handle));

    public Tensor scatter(long dim, Tensor index, Tensor src) => Wrap(LibTorch.ct_scatter(Handle, dim, index.Handle, src.Handle));

    public unsafe Tensor expand(params long[] shape)
    {
        fixed (long* p = shape) return Wrap(LibTorch.ct_expand(Handle, p, shape.Length));
    }

    public Tensor expand_as(Tensor other) => expand(other.shape);

    public unsafe Tensor repeat(params long[] repeats)
    {
        fixed (long* p = repeats) return Wrap(LibTorch.ct_repeat(Handle, p, repeats.Length));
    }

    public Tensor squeeze() => Wrap(LibTorch.ct_squeeze(Handle, 0, 1));

    public Tensor squeeze(long dim) => Wrap(LibTorch.ct_squeeze(Handle, dim, 0));

    public Tensor unsqueeze(long dim) => Wrap(LibTorch.ct_unsqueeze(Handle, dim));

    public Tensor flatten(long start_dim = 0, long end_dim = -1) => Wrap(LibTorch.ct_flatten(Handle, start_dim, end_dim));

    /// <summary>A view of this tensor's storage with the given sizes, strides (in elements) and storage offset.</summary>
    public unsafe Tensor as_strided(long[] size, long[] stride, long storage_offset = 0)
    {
        if (size.Length != stride.Length) throw new ArgumentException($"as_strided: {size.Length} sizes but {stride.Length} strides");
        fixed (long* sz = size)
        fixed (long* st = stride)
            return Wrap(LibTorch.ct_as_strided(Handle, sz, st, size.Length, storage_offset));
    }

    /// <summary>Pieces of the given sizes along dim (they must add up to its size).</summary>
    public unsafe Tensor[] split(long[] sizes, long dim = 0)
    {
        var raw = new IntPtr[sizes.Length];
        fixed (long* s = sizes)
        fixed (IntPtr* o = raw)
            TorchException.Check(LibTorch.ct_split(Handle, s, sizes.Length, dim, o));
        return Array.ConvertAll(raw, Wrap);
    }

    /// <summary>Pieces of split_size along dim; the last may be smaller.</summary>
    public Tensor[] split(long split_size, long dim = 0)
    {
        if (split_size <= 0) throw new ArgumentOutOfRangeException(nameof(split_size), "split size must be positive");
        long total = size((int)dim);
        var sizes = new List<long>();
        for (long at = 0; at < total; at += split_size) sizes.Add(Math.Min(split_size, total - at));
        return split(sizes.ToArray(), dim);
    }

    /// <summary>chunks pieces of (nearly) equal size along dim, as torch.chunk.</summary>
    public Tensor[] chunk(long chunks, long dim = 0) => split((size((int)dim) + chunks - 1) / chunks, dim);
}
