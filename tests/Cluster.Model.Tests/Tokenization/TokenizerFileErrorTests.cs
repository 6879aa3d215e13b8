using System.Text.Json.Nodes;
using Xunit;
using Cluster.Model.Tokenization;
using static Cluster.Model.Tests.Tokenization.TokenizerTestFiles;

namespace Cluster.Model.Tests.Tokenization;

public class TokenizerFileErrorTests
{
    private static TokenizerException Load(string dir) => Assert.Throws<TokenizerException>(() => AutoTokenizer.FromPretrained(dir));

    [Fact]
    public void MissingFilesAreNamed()
    {
        string dir = WriteRobertaDir();
        File.Delete(Path.Combine(dir, "merges.txt"));
        Assert.Contains("merges.txt: missing", Load(dir).Message);
        string roc = WriteRoCBertDir();
        File.Delete(Path.Combine(roc, "word_shape.json"));
        Assert.Contains("word_shape.json: missing", Load(roc).Message);
    }

    [Fact]
    public void ABadMergeLineIsNamedWithItsLineNumber()
    {
        string dir = WriteRobertaDir();
        var lines = File.ReadAllLines(Path.Combine(dir, "merges.txt")).ToList();
        lines.Insert(3, "three parts here");
        File.WriteAllLines(Path.Combine(dir, "merges.txt"), lines);
        var message = Load(dir).Message;
        Assert.Contains("merges.txt: line 4", message);
    }

    [Fact]
    public void AMergeOutsideTheVocabularyIsNamed()
    {
        string dir = WriteRobertaDir();
        File.AppendAllText(Path.Combine(dir, "merges.txt"), "q z\n");
        Assert.Contains("'qz', which the vocabulary lacks", Load(dir).Message);
    }

    [Fact]
    public void CorruptJsonIsNamedWithItsLine()
    {
        string dir = WriteRobertaDir();
        File.WriteAllText(Path.Combine(dir, "vocab.json"), "{\n\"a\": 1,\n\"b\": \n}");
        var message = Load(dir).Message;
        Assert.Contains("vocab.json: line", message);
        Assert.Contains("not valid JSON", message);
        File.WriteAllText(Path.Combine(dir, "vocab.json"), "{\"a\": \"one\"}");
        Assert.Contains("token 'a' has \"one\"", Load(dir).Message);
    }

    [Fact]
    public void UnknownModelTypeAndMissingUnkEntryAreExplained()
    {
        string dir = WriteRobertaDir();
        File.WriteAllText(Path.Combine(dir, "config.json"), "{\"model_type\": \"gpt2\"}");
        Assert.Contains("model_type 'gpt2'", Load(dir).Message);
        string roc = WriteRoCBertDir();
        File.WriteAllText(Path.Combine(roc, "word_pronunciation.json"), "{\"我\": 3}");
        Assert.Contains("word_pronunciation.json has no entry for [UNK]", Load(roc).Message);
    }
}

/// <summary>The rules each tokenizer file is held to, one case each, every refusal naming the file and the field.</summary>
public class TokenizerFileRuleTests
{
    private static string Refusal(string dir) => Assert.Throws<TokenizerException>(() => AutoTokenizer.FromPretrained(dir)).Message;

    private static string EditJson(string dir, string file, Action<JsonObject> edit) => Cluster.Testing.JsonFiles.Edit(dir, file, edit);

    [Fact]
    public void Vocabulary_ids_are_unique_and_within_the_vocabulary()
    {
        Assert.Contains("tokens '<pad>' and '<s>' share id 0",
            Refusal(EditJson(WriteRobertaDir(), "vocab.json", v => v["<pad>"] = 0)).Replace("'<s>' and '<pad>'", "'<pad>' and '<s>'"));
        var message = Refusal(EditJson(WriteRobertaDir(), "vocab.json", v => v["<mask>"] = int.MaxValue));
        Assert.Contains("vocab.json: token '<mask>' has id 2147483647, outside the", message);
        var negative = Refusal(EditJson(WriteRobertaDir(asTokenizerJson: true), "tokenizer.json", t => t["model"]!["vocab"]!["<mask>"] = -1));
        Assert.Contains("model.vocab: token '<mask>' has -1, not a non-negative integer id", negative);
    }

    [Theory]
    [InlineData("-1", "has id -1, not an integer in")]
    [InlineData("1.5", "has id 1.5, not an integer in")]
    [InlineData("\"4\"", "has id \"4\", not an integer in")]
    [InlineData("100000", "has id 100000, not an integer in")]
    public void Added_tokens_need_integer_ids_in_range(string id, string message)
    {
        var dir = EditJson(WriteRobertaDir(asTokenizerJson: true), "tokenizer.json", t => t["added_tokens"]![4]!["id"] = JsonNode.Parse(id));
        var refusal = Refusal(dir);
        Assert.Contains("tokenizer.json: added_tokens[4] ('<mask>')", refusal);
        Assert.Contains(message, refusal);
    }

    [Fact]
    public void Added_tokens_and_fields_of_the_wrong_json_type_are_named()
    {
        Assert.Contains("added_tokens[0]: 'content' is 5, not a string",
            Refusal(EditJson(WriteRobertaDir(asTokenizerJson: true), "tokenizer.json", t => t["added_tokens"]![0]!["content"] = 5)));
        Assert.Contains("added_tokens[1]: '<pad>' and '<s>' share id 0",
            Refusal(EditJson(WriteRobertaDir(asTokenizerJson: true), "tokenizer.json", t => t["added_tokens"]![1]!["id"] = 0)));
        Assert.Contains("post_processor.cls is \"x\", not [token, id]",
            Refusal(EditJson(WriteRobertaDir(asTokenizerJson: true), "tokenizer.json", t => t["post_processor"]!["cls"] = "x")));
        Assert.Contains("tokenizer.json: the top level is not a JSON object",
            Refusal(EditJsonText(WriteRobertaDir(asTokenizerJson: true), "tokenizer.json", "[1, 2]")));
        Assert.Contains("tokenizer_config.json: 'bos_token' is 5, not a token",
            Refusal(EditJsonText(WriteRobertaDir(), "tokenizer_config.json", """{"bos_token": 5}""")));
        Assert.Contains("tokenizer_config.json: never_split[0] is 1, not a string",
            Refusal(EditJsonText(WriteRoCBertDir(), "tokenizer_config.json", """{"never_split": [1]}""")));
        Assert.Contains("config.json: 'model_type' is 3, not a string", Refusal(EditJsonText(WriteRobertaDir(), "config.json", """{"model_type": 3}""")));
    }

    [Fact]
    public void A_model_max_length_that_leaves_no_room_for_special_tokens_is_refused()
    {
        Assert.Contains("tokenizer_config.json: model_max_length 2 leaves no room for text once the 2 special tokens are added",
            Refusal(EditJsonText(WriteRobertaDir(), "tokenizer_config.json", """{"model_max_length": 2}""")));
        Assert.Contains("'model_max_length' is \"long\", not a non-negative integer",
            Refusal(EditJsonText(WriteRoCBertDir(), "tokenizer_config.json", """{"model_max_length": "long"}""")));
        // HF writes 1e30 for "no limit": that is no limit, not an error.
        AutoTokenizer.FromPretrained(EditJsonText(WriteRobertaDir(), "tokenizer_config.json", """{"model_max_length": 1e30}"""));
        // And an encode whose max_length cannot hold the special tokens says so in one line.
        var e = Assert.Throws<TokenizerException>(() => RobertaTok().Encode("hello", "world", new EncodeOptions { MaxLength = 3 }));
        Assert.Contains("max_length leaves no room", e.Message);
    }

    [Theory]
    [InlineData("vocab.json")]
    [InlineData("merges.txt")]
    public void Bytes_that_are_not_utf8_are_refused_with_their_offset(string file)
    {
        var dir = WriteRobertaDir();
        var path = Path.Combine(dir, file);
        var bytes = File.ReadAllBytes(path);
        bytes[20] = 0xFF;
        File.WriteAllBytes(path, bytes);
        Assert.Contains($"{file}: byte 20 is not valid UTF-8", Refusal(dir));
    }

    private static string EditJsonText(string dir, string file, string text)
    {
        File.WriteAllText(Path.Combine(dir, file), text);
        return dir;
    }
}
