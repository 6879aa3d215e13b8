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
