using Cluster.Torch;
using static Cluster.Torch.torch.nn;

namespace Cluster.Model.Encoder;

/// <summary>
/// HF's _init_weights: Linear and Embedding weights N(0, initializer_range), zero biases, zero
/// padding rows, LayerNorm ones and zeros. A tied parameter is initialised once, and the parameters
/// of <paramref name="initialized"/> (a body that initialised itself) are left as they are.
/// </summary>
public static class Initialization
{
    public static void Apply(Module root, double std, Generator? generator = null, Module? initialized = null)
    {
        using var _ = torch.no_grad();
        var done = new HashSet<Tensor>(initialized?.parameters() ?? [], ReferenceEqualityComparer.Instance);
        foreach (var (_, m) in root.named_modules())
        {
            switch (m)
            {
                case Linear l:
                    if (done.Add(l.weight)) init.normal_(l.weight, 0, std, generator);
                    if (l.bias is not null && done.Add(l.bias)) init.zeros_(l.bias);
                    break;
                case Embedding e when done.Add(e.weight):
                    init.normal_(e.weight, 0, std, generator);
                    e.ZeroPaddingRow();
                    break;
                case LayerNorm n:
                    if (n.weight is not null && done.Add(n.weight)) init.ones_(n.weight);
                    if (n.bias is not null && done.Add(n.bias)) init.zeros_(n.bias);
                    break;
            }
        }
    }
}
