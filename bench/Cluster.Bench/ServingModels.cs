using Cluster.Model.Configuration;
using Cluster.Model.Tokenization;
using Cluster.Model.Tokenization.Training;

namespace Cluster.Bench;

/// <summary>What the serving benches serve: WordNet glosses, a byte-level BPE tokenizer trained on them, and a tiny
/// config or roberta-base's (random weights) over that vocabulary.</summary>
internal static class ServingModels
{
    /// <summary>The first 4,000 non-empty glosses of the demo corpus ("word: gloss" lines).</summary>
    public static string[] Glosses(string corpus) =>
        File.ReadLines(corpus).Select(l => l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..]).Where(g => g.Length > 0).Take(4000).ToArray();

    /// <summary>Trains the tokenizer into <paramref name="directory"/> and loads it.</summary>
    public static RobertaTokenizer Tokenizer(string[] glosses, string directory)
    {
        var bpe = BpeTrainer.Train(glosses, vocabSize: 4000);
        RobertaTokenizerFiles.Save(bpe.Vocab, bpe.Merges, directory);
        return RobertaTokenizerFiles.Load(directory);
    }

    public static RobertaConfig Config(string name, int vocab)
    {
        RobertaConfig config = name switch
        {
            "tiny" => new() { hidden_size = 128, num_hidden_layers = 4, num_attention_heads = 4, intermediate_size = 512 },
            "base" => new() { hidden_size = 768, num_hidden_layers = 12, num_attention_heads = 12, intermediate_size = 3072 },
            _ => throw new ArgumentException($"--configs: unknown config '{name}' (tiny, base)"),
        };
        config.vocab_size = vocab;
        config.max_position_embeddings = 514;
        return config;
    }
}
