using Cluster.Torch;
using F = Cluster.Torch.torch.nn.functional;

namespace Cluster.Model.Encoder;

/// <summary>HF's ACT2FN for the names configs use.</summary>
internal static class Activation
{
    public static Func<Tensor, Tensor> Get(string name) => name switch
    {
        "gelu" => x => F.gelu(x),
        "gelu_new" or "gelu_pytorch_tanh" => x => F.gelu(x, "tanh"),
        "relu" => x => x.relu(),
        "silu" or "swish" => x => x.silu(),
        "tanh" => x => x.tanh(),
        _ => throw new Configuration.ConfigException($"hidden_act '{name}' is not supported"),
    };
}
