using Cluster.Model.Configuration;
using Cluster.Model.Tokenization;
using Cluster.Model.Tokenization.Training;
using Cluster.Training.Data;

namespace Cluster.Testing;

/// <summary>A small generated corpus with structure a model can learn beyond word frequencies (agreement between a
/// sentence's subject, verb and object), a byte-level BPE tokenizer trained on it, and its prepared shards. Made once
/// per test run, in a temporary directory.</summary>
public sealed class TestCorpus : IDisposable
{
    static readonly string[] Animals = ["cat", "dog", "bird", "fish", "horse", "mouse"];
    static readonly string[] Foods = ["milk", "bones", "seeds", "worms", "hay", "cheese"]; // animal i eats food i
    static readonly string[] Places = ["house", "yard", "tree", "pond", "field", "hole"]; // animal i lives in place i
    static readonly string[] Adjectives = ["small", "big", "old", "young", "happy", "lazy"];

    public TestCorpus()
    {
        Root = Directory.CreateTempSubdirectory("cluster-training-").FullName;
        CorpusFile = Path.Combine(Root, "corpus.txt");
        var random = new Random(12345);
        var lines = new List<string>();
        for (var i = 0; i < 1500; i++)
        {
            var a = random.Next(Animals.Length);
            var adjective = Adjectives[random.Next(Adjectives.Length)];
            lines.Add(random.Next(3) switch
            {
                0 => $"the {adjective} {Animals[a]} eats {Foods[a]} in the {Places[a]}.",
                1 => $"a {Animals[a]} lives in the {Places[a]} and likes {Foods[a]}.",
                _ => $"every {adjective} {Animals[a]} sleeps in the {Places[a]}.",
            });
            if (i % 50 == 49) lines.Add(""); // blank lines are not documents
        }
        File.WriteAllLines(CorpusFile, lines);

        TokenizerDirectory = Path.Combine(Root, "tokenizer");
        var bpe = BpeTrainer.Train(lines, vocabSize: 320);
        RobertaTokenizerFiles.Save(bpe.Vocab, bpe.Merges, TokenizerDirectory);
        Tokenizer = RobertaTokenizerFiles.Load(TokenizerDirectory);
        ShardDirectory = Path.Combine(Root, "shards");
        Manifest = CorpusPreparation.Prepare(Tokenizer, TokenizerDirectory, [CorpusFile], ShardDirectory);
        Lines = lines.Where(l => !string.IsNullOrWhiteSpace(l)).ToArray();
    }

    public string Root { get; }
    public string CorpusFile { get; }
    public string TokenizerDirectory { get; }
    public string ShardDirectory { get; }
    public Tokenizer Tokenizer { get; }
    public TokenShardManifest Manifest { get; }
    public string[] Lines { get; }

    /// <summary>A tiny RoBERTa for this vocabulary; dropout off unless asked, so runs can be compared exactly.</summary>
    public RobertaConfig TinyConfig(double dropout = 0.0) => new()
    {
        vocab_size = Tokenizer.VocabSize, hidden_size = 32, num_hidden_layers = 2, num_attention_heads = 2, intermediate_size = 64,
        max_position_embeddings = 64 + 2, hidden_dropout_prob = dropout, attention_probs_dropout_prob = dropout,
    };

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

