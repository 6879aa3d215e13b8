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
        }
    }
}
