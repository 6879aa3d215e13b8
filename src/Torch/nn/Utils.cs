using Cluster.Torch.Native;

namespace Cluster.Torch;

public static partial class torch
{
    public static partial class nn
    {
        public static class utils
        {
            /// <summary>
            /// Scales all gradients together so their joint norm is at most max_norm; returns the norm
            /// before clipping (torch.nn.utils.clip_grad_norm_).
            /// </summary>
            public static unsafe double clip_grad_norm_(IEnumerable<Parameter> parameters, double max_norm, double norm_type = 2.0)
            {
                var list = parameters.ToList();
                var handles = HandlesOf(list);
                double total;
                fixed (IntPtr* p = handles)
                    TorchException.Check(LibTorch.ct_clip_grad_norm(p, handles.Length, max_norm, norm_type, out total));
                GC.KeepAlive(list);
                return total;
            }

            /// <summary>
            /// <see cref="clip_grad_norm_"/> (2-norm) for gradients laid back to back in one flat buffer,
            /// <paramref name="sizes"/> elements each: the same norm, the same scaling, the whole buffer in one multiply.
            /// </summary>
            public static unsafe double clip_grad_norm_flat_(Tensor gradients, long[] sizes, double max_norm)
            {
                double total;
                fixed (long* s = sizes)
                    TorchException.Check(LibTorch.ct_clip_grad_norm_flat(gradients.Handle, s, sizes.Length, max_norm, out total));
                return total;
            }
        }
    }
}
