using Cluster.Model.Checkpoints;
using Cluster.Model.Configuration;
using Cluster.Model.Tasks;
using Cluster.Model.Tokenization;
using Cluster.Model.Tokenization.Training;
using Cluster.Torch;

namespace Cluster.Testing;

/// <summary>Model directories to serve, made once in a temporary directory: a byte-level BPE tokenizer trained on
/// animal sentences, a seeded tiny masked LM (<see cref="Encoder"/>), heads saved on it frozen (head-only, with
/// encoder_reference: sequence classification, token classification, question answering, multiple choice), and a
/// sequence classifier with an encoder of its own (<see cref="OwnEncoderClassifier"/>). Untrained: serving is checked
/// against the same weights run directly, not for accuracy.</summary>
public sealed class ServingModels : IDisposable
{
    public static readonly string[] Kinds = ["pet", "wild", "farm"];
    public static readonly string[] Tags = ["O", "B-AGENT", "I-AGENT", "B-PATIENT", "B-LOC"];

    static readonly string[] Animals = ["cat", "dog", "bird", "fish", "horse", "mouse"];
    static readonly string[] Foods = ["milk", "bones", "seeds", "worms", "hay", "cheese"];
    static readonly string[] Places = ["house", "yard", "tree", "pond", "field", "hole"];

    public ServingModels()
    {
        Root = Directory.CreateTempSubdirectory("cluster-serving-").FullName;
        var random = new Random(7);
        var lines = Enumerable.Range(0, 600).Select(_ =>
        {
            var (a, b) = (random.Next(6), random.Next(6));
            return $"the {Animals[a]} eats {Foods[b]} in the {Places[random.Next(6)]}. what does the {Animals[b]} eat? a {Animals[a]} chases a {Animals[b]}.";
        }).ToList();
        TokenizerDirectory = Path.Combine(Root, "tokenizer");
        var bpe = BpeTrainer.Train(lines, vocabSize: 420);
        RobertaTokenizerFiles.Save(bpe.Vocab, bpe.Merges, TokenizerDirectory);
        Tokenizer = RobertaTokenizerFiles.Load(TokenizerDirectory);

        using var scope = torch.NewDisposeScope();
        Encoder = Path.Combine(Root, "encoder");
        torch.manual_seed(11);
        using (var mlm = TaskModel.Create(Config(2), Head.MaskedLM)) mlm.SavePretrained(Encoder, TokenizerDirectory);
        var reference = EncoderReference.For(Encoder);
        SequenceClassifier = FrozenHead("kind", Head.SequenceClassification, Kinds, reference, 12);
        TokenClassifier = FrozenHead("roles", Head.TokenClassification, Tags, reference, 13);
        QuestionAnswerer = FrozenHead("qa", Head.QuestionAnswering, ["start", "end"], reference, 14);
        MultipleChoice = FrozenHead("choice", Head.MultipleChoice, ["0", "1"], reference, 15);
        OwnEncoderClassifier = Path.Combine(Root, "own-kind");
        torch.manual_seed(16);
        using (var own = TaskModel.Create(Labelled(Kinds), Head.SequenceClassification)) own.SavePretrained(OwnEncoderClassifier, TokenizerDirectory);
    }

    public string Root { get; }
    public string TokenizerDirectory { get; }
    public Tokenizer Tokenizer { get; }
    public string Encoder { get; }
    public string SequenceClassifier { get; }
    public string TokenClassifier { get; }
    public string QuestionAnswerer { get; }
    public string MultipleChoice { get; }
    public string OwnEncoderClassifier { get; }

    /// <summary>The frozen heads by name, as <c>--head</c> names them.</summary>
    public IReadOnlyList<(string Name, string Directory)> FrozenHeads =>
        [("kind", SequenceClassifier), ("roles", TokenClassifier), ("qa", QuestionAnswerer), ("choice", MultipleChoice)];

    public RobertaConfig Config(int labels) => new()
    {
        vocab_size = Tokenizer.VocabSize, hidden_size = 32, num_hidden_layers = 2, num_attention_heads = 2, intermediate_size = 64,
        max_position_embeddings = 128 + 2, hidden_dropout_prob = 0, attention_probs_dropout_prob = 0,
        id2label = Enumerable.Range(0, labels).ToDictionary(i => i.ToString(), i => $"LABEL_{i}"),
        label2id = Enumerable.Range(0, labels).ToDictionary(i => $"LABEL_{i}", i => i),
    };

    RobertaConfig Labelled(string[] labels)
    {
        var config = Config(labels.Length);
        config.id2label = labels.Select((l, i) => (l, i)).ToDictionary(x => x.i.ToString(), x => x.l);
        config.label2id = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i);
        return config;
    }

    /// <summary>A head trained (here: initialised, seeded) on the frozen encoder, saved without the encoder.</summary>
    string FrozenHead(string name, Head head, string[] labels, EncoderReference reference, ulong seed)
    {
        var dir = Path.Combine(Root, name);
        torch.manual_seed(seed);
        using var model = TaskModel.Create(Labelled(labels), head); // SaveHead writes the head (and pooler) alone
        model.SaveHead(dir, reference, TokenizerDirectory);
        return dir;
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
