using Cluster.Model.Configuration;
using Cluster.Model.Tokenization;
using Cluster.Model.Tokenization.Training;
using Cluster.Training.Data;

namespace Cluster.Testing;

/// <summary>The test corpus under a RoCBert tokenizer (<see cref="ToyRoCBertTokenizer"/>) and its prepared shards with
/// all three streams.</summary>
public sealed class RoCBertCorpus : IDisposable
{
    public RoCBertCorpus()
    {
        Root = Directory.CreateTempSubdirectory("cluster-rocbert-corpus-").FullName;
        var lines = File.ReadAllLines(Text.CorpusFile);
        TokenizerDirectory = Path.Combine(Root, "tokenizer");
        Tokenizer = ToyRoCBertTokenizer.Save(lines, 200, TokenizerDirectory);
        File.WriteAllText(Path.Combine(TokenizerDirectory, "config.json"), "{\"model_type\": \"roc_bert\"}");
        ShardDirectory = Path.Combine(Root, "shards");
        CorpusPreparation.Prepare(Tokenizer, TokenizerDirectory, [Text.CorpusFile], ShardDirectory);
    }

    readonly TestCorpus Text = new();
    public string CorpusFile => Text.CorpusFile;
    public string Root { get; }
    public string TokenizerDirectory { get; }
    public string ShardDirectory { get; }
    public RoCBertTokenizer Tokenizer { get; }

    /// <summary>A tiny RoCBert for this vocabulary and these maps, dropout off.</summary>
    public RoCBertConfig TinyConfig() => new()
    {
        vocab_size = Tokenizer.VocabSize, hidden_size = 32, num_hidden_layers = 2, num_attention_heads = 2, intermediate_size = 64,
        max_position_embeddings = 64, hidden_dropout_prob = 0, attention_probs_dropout_prob = 0,
        shape_vocab_size = 64, shape_embed_dim = 16, pronunciation_vocab_size = 128, pronunciation_embed_dim = 16,
    };

    public void Dispose()
    {
        Text.Dispose();
        Directory.Delete(Root, recursive: true);
    }
}
