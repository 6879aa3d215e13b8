using System.Text;
using System.Text.Json.Nodes;
using Cluster.Model.Configuration;
using Cluster.Model.Tokenization;
using Cluster.Testing;
using Xunit;
using static Cluster.Model.Tests.Tokenization.TokenizerTestFiles;

namespace Cluster.Model.Tests;

/// <summary>
/// Seeded fuzz of config.json and of every tokenizer file: wrong JSON types in every field, missing and extra fields,
/// byte flips, truncation and invalid UTF-8. Each mutation ends in the loader's own exception (naming the file), or in a
/// load that passes the checks a good file passes; never in another exception type, and within a memory budget.
/// </summary>
public sealed class LoaderFuzzTests
{
    const long Budget = 16 << 20;
    const int Mutations = 200;

    static string Fixture(string family, string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", family, name, "config.json"));

    [Theory]
    [InlineData("roberta", "masked_lm")]
    [InlineData("roc_bert", "base_concat")]
    public void Config_mutations_end_in_ConfigException_or_a_config_that_round_trips(string family, string name)
    {
        var good = Fixture(family, name);
        var random = new Random(18);
        var dir = Directory.CreateTempSubdirectory("cluster-config-fuzz-").FullName;
        var path = Path.Combine(dir, "config.json");
        int refused = 0;
        try
        {
            for (var i = 0; i < Mutations; i++)
            {
                File.WriteAllBytes(path, JsonMutations.Mutate(good, random, i));
                var probe = new AllocationProbe();
                try
                {
                    var config = PretrainedConfig.Load(path);
                    // A good config: it validates, and what it writes reads back as the same config.
                    config.Validate();
                    Assert.Equal(config.ToJson(), PretrainedConfig.FromJson(config.ToJson()).ToJson());
                }
                catch (ConfigException e)
                {
                    Assert.Contains(path, e.Message);
                    refused++;
                }
                probe.Within(Budget, $"mutation {i}");
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
        Assert.True(refused > Mutations / 4, $"only {refused} of {Mutations} mutations were refused");
    }

    public static TheoryData<string, string> TokenizerFiles => new()
    {
        { "roberta", "vocab.json" }, { "roberta", "merges.txt" }, { "roberta-json", "tokenizer.json" },
        { "roberta", "tokenizer_config.json" }, { "roc_bert", "vocab.txt" }, { "roc_bert", "word_shape.json" },
        { "roc_bert", "word_pronunciation.json" }, { "roc_bert", "tokenizer_config.json" }, { "roc_bert", "config.json" },
    };

    [Theory]
    [MemberData(nameof(TokenizerFiles))]
    public void Tokenizer_file_mutations_end_in_TokenizerException_or_a_working_tokenizer(string kind, string file)
    {
        var dir = kind switch
        {
            "roberta" => WriteRobertaDir(),
            "roberta-json" => WriteRobertaDir(asTokenizerJson: true),
            _ => WriteRoCBertDir("""{"do_lower_case": true, "never_split": ["[UNK]"], "mask_token": {"content": "[MASK]"}, "model_max_length": 512}"""),
        };
        var path = Path.Combine(dir, file);
        if (!File.Exists(path)) File.WriteAllText(path, """{"add_prefix_space": false, "bos_token": "<s>", "model_max_length": 512}""");
        var good = File.ReadAllText(path);
        var random = new Random(18);
        int refused = 0;
        try
        {
            for (var i = 0; i < Mutations; i++)
            {
                File.WriteAllBytes(path, file.EndsWith(".json") ? JsonMutations.Mutate(good, random, i) : MutateLines(good, random, i));
                var probe = new AllocationProbe();
                try
                {
                    var tokenizer = AutoTokenizer.FromPretrained(dir);
                    // A working tokenizer: it encodes mixed text to ids it can name, and decodes them.
                    var ids = tokenizer.Encode("hello the world 我爱北京 <mask>", "aa 's").InputIds;
                    Assert.All(ids, id => Assert.NotNull(tokenizer.IdToToken(id)));
                    tokenizer.Decode(ids);
                }
                catch (TokenizerException e)
                {
                    Assert.Contains(dir, e.Message);
                    refused++;
                }
                probe.Within(Budget, $"{file} mutation {i}");
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
        Assert.True(refused > 0, $"no mutation of {file} was refused");
    }

    [Fact]
    public void Inference_input_mutations_end_in_ArgumentException_or_tensors_of_the_shapes_written()
    {
        const string Good = """{"input_ids": [[0, 31414, 232, 2], [0, 4, 2, 1]], "attention_mask": [[1, 1, 1, 1], [1, 1, 1, 0]], "scale": [0.5, 1e-3]}""";
        var random = new Random(18);
        var baseline = LiveTensors.Settled();
        int refused = 0;
        for (var i = 0; i < Mutations; i++)
        {
            var bytes = JsonMutations.Mutate(Good, random, i);
            var probe = new AllocationProbe();
            using (Cluster.Torch.torch.NewDisposeScope())
            {
                try
                {
                    // The CLI decodes strictly first; the parser then sees only text.
                    var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
                    var tensors = Cluster.Model.Tasks.TensorJson.ParseObject(text, "input.json", maxElements: 64);
                    // What parsed is what the JSON held: each tensor serialises back to the same numbers.
                    var again = JsonNode.Parse(Cluster.Model.Tasks.TensorJson.Serialize(tensors))!.AsObject();
                    Assert.Equal(tensors.Keys.Order(), again.Select(kv => kv.Key).Order());
                }
                catch (DecoderFallbackException) { refused++; }
                catch (ArgumentException e)
                {
                    Assert.Contains("input.json", e.Message);
                    refused++;
                }
                probe.Within(Budget, $"input mutation {i}");
            }
            Assert.Equal(baseline, Cluster.Torch.torch.LiveTensorCount);
        }
        Assert.True(refused > Mutations / 4, $"only {refused} of {Mutations} mutations were refused");
    }

    /// <summary>Line files (merges.txt, vocab.txt): lines dropped, duplicated, split or joined, bytes flipped, cut short, invalid UTF-8.</summary>
    static byte[] MutateLines(string good, Random random, int i)
    {
        var lines = good.Split('\n').ToList();
        int at = random.Next(lines.Count);
        switch (i % 6)
        {
            case 0: lines.RemoveAt(at); break;
            case 1: lines.Insert(at, lines[random.Next(lines.Count)]); break;
            case 2: lines[at] = lines[at] + " " + lines[random.Next(lines.Count)]; break;
            case 3:
            {
                var bytes = Encoding.UTF8.GetBytes(good);
                for (var n = random.Next(1, 4); n > 0; n--) bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                return bytes;
            }
            case 4: return Encoding.UTF8.GetBytes(good)[..random.Next(good.Length)];
            default:
            {
                var bytes = Encoding.UTF8.GetBytes(good);
                bytes[random.Next(bytes.Length)] = 0xFF;
                return bytes;
            }
        }
        return Encoding.UTF8.GetBytes(string.Join('\n', lines));
    }
}
