using Cluster.Torch;

namespace Cluster.Client.Demo;

/// <summary>
/// A toy sequence task that needs attention to see the whole sequence: does the marker token
/// appear anywhere? Half of the sequences carry it at a random position.
/// </summary>
internal sealed class TokenTask(Generator generator)
{
    public const int Vocab = 16;
    public const int Tokens = 12;
    public const long Marker = 7;

    /// <summary>ids (B, T) int64 and labels (B) int64, owned by the caller's DisposeScope.</summary>
    public (Tensor ids, Tensor labels) Batch(int batch)
    {
        // draw from the vocabulary without the marker, then plant it in the positive half
        var ids = torch.randint(0, Vocab - 1, [batch, Tokens], generator: generator);
        ids = ids + ids.ge(Marker);
        var labels = torch.randint(0, 2, [batch], generator: generator);
        var position = torch.randint(0, Tokens, [batch, 1], generator: generator);
        var planted = ids.scatter(1, position, torch.full([batch, 1], Marker, ScalarType.Int64));
        var positive = labels.unsqueeze(1).eq(1).expand(batch, Tokens);
        return (torch.where(positive, planted, ids), labels);
    }
}
