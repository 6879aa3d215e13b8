using Cluster.Torch.Native;

namespace Cluster.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// A tensor a module owns and trains: a leaf that requires grad, never owned by a DisposeScope
        /// (its module disposes it).
        /// </summary>
        public sealed class Parameter : Tensor
        {
            /// <summary>Takes the data of <paramref name="data"/> (sharing its storage) as a new leaf.</summary>
            public Parameter(Tensor data, bool requires_grad = true)
                : base(LibTorch.ct_detach(data.Handle), attachToScope: false)
            {
                this.requires_grad = requires_grad;
            }
        }
    }
}
