using Cluster.Model.Checkpoints;
using Cluster.Model.Configuration;
using Cluster.Model.Tasks;
using Cluster.Model.Tokenization;
using Cluster.Torch;

namespace Cluster.Testing;

/// <summary>RoCBert to serve: a <see cref="ToyRoCBertTokenizer"/>, a seeded tiny
/// RoCBertForPreTraining (what `cluster model init --arch roc_bert` writes) and a frozen token-classification head.</summary>
public sealed class RoCBertServingModels : IDisposable
{
    public RoCBertServingModels()
    {
        Root = Directory.CreateTempSubdirectory("cluster-serving-rocbert-").FullName;
        var random = new Random(3);
        string[] words = ["cat", "dog", "bird", "fish", "eats", "milk", "seeds", "chases", "the", "a", "in", "house", "tree", "running", "jumping"];
        var lines = Enumerable.Range(0, 400).Select(_ => string.Join(" ", Enumerable.Range(0, 8).Select(_ => words[random.Next(words.Length)]))).ToList();
        var tokenizerDir = Path.Combine(Root, "tokenizer");
        Tokenizer = ToyRoCBertTokenizer.Save(lines, 120, tokenizerDir);

        using var scope = torch.NewDisposeScope();
        Encoder = Path.Combine(Root, "encoder");
        torch.manual_seed(21);
        using (var model = TaskModel.Create(Config(ServingModels.Tags), Head.PreTraining)) model.SavePretrained(Encoder, tokenizerDir);
        TokenClassifier = Path.Combine(Root, "roles");
        torch.manual_seed(22);
        using (var head = TaskModel.Create(Config(ServingModels.Tags), Head.TokenClassification)) head.SaveHead(TokenClassifier, EncoderReference.For(Encoder), tokenizerDir);
    }

    public string Root { get; }
    public RoCBertTokenizer Tokenizer { get; }
    public string Encoder { get; }
    public string TokenClassifier { get; }

    RoCBertConfig Config(string[] labels) => new()
    {
        vocab_size = Tokenizer.VocabSize, hidden_size = 32, num_hidden_layers = 2, num_attention_heads = 2, intermediate_size = 64,
        max_position_embeddings = 64, hidden_dropout_prob = 0, attention_probs_dropout_prob = 0,
        shape_vocab_size = 64, shape_embed_dim = 16, pronunciation_vocab_size = 128, pronunciation_embed_dim = 16,
        id2label = labels.Select((l, i) => (l, i)).ToDictionary(x => x.i.ToString(), x => x.l),
        label2id = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i),
    };

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
