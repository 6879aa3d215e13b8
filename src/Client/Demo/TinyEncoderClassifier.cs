using Cluster.Torch;
using static Cluster.Torch.torch.nn;

namespace Cluster.Client.Demo;

/// <summary>
/// One post-LayerNorm transformer block (the layout BERT and RoBERTa use) over token and position
/// embeddings, mean-pooled into a two-way classifier.
/// B batch, T tokens, H hidden, nh heads, hs head size.
/// </summary>
internal sealed class TinyEncoderClassifier : Module<Tensor, Tensor>
{
    private readonly long H, nh, hs;

    public readonly Embedding word_embeddings;
    public readonly Embedding position_embeddings;
    public readonly LayerNorm embeddings_norm;
    public readonly Linear qkv;
    public readonly Linear attention_out;
    public readonly LayerNorm attention_norm;
    public readonly Linear intermediate;
    public readonly Linear output;
    public readonly LayerNorm output_norm;
    public readonly Linear classifier;

    public TinyEncoderClassifier(long vocab, long tokens, long hidden = 32, long heads = 4)
    {
        (H, nh, hs) = (hidden, heads, hidden / heads);
        word_embeddings = new Embedding(vocab, H);
        position_embeddings = new Embedding(tokens, H);
        embeddings_norm = new LayerNorm(H);
        qkv = new Linear(H, 3 * H);
        attention_out = new Linear(H, H);
        attention_norm = new LayerNorm(H);
        intermediate = new Linear(H, 4 * H);
        output = new Linear(4 * H, H);
        output_norm = new LayerNorm(H);
        classifier = new Linear(H, 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor ids)
    {
        long B = ids.size(0), T = ids.size(1);
        var positions = torch.arange(T);
        var x = embeddings_norm.call(word_embeddings.call(ids) + position_embeddings.call(positions)); // (B, T, H)

        var qkvs = qkv.call(x).view(B, T, 3, nh, hs).permute(2, 0, 3, 1, 4);                          // (3, B, nh, T, hs)
        var a = functional.scaled_dot_product_attention(qkvs[0], qkvs[1], qkvs[2]);                  // (B, nh, T, hs)
        a = a.transpose(1, 2).reshape(B, T, H);                                                        // (B, T, H)
        x = attention_norm.call(x + attention_out.call(a));
        x = output_norm.call(x + output.call(functional.gelu(intermediate.call(x))));

        return classifier.call(x.mean(1));                                                             // (B, 2)
    }
}
