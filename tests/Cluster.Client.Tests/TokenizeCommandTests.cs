using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace Cluster.Client.Tests;

/// <summary>`cluster tokenizer train` then `cluster tokenize`, end to end through the CLI.</summary>
public class TokenizeCommandTests
{
    private static readonly string[] Corpus =
    [
        "the quick brown fox jumps over the lazy dog", "the lazy dog sleeps while the quick fox runs",
        "我爱北京天安门，北京是中国的首都", "a dog and a fox and the other dog",
    ];

    private static async Task<string> TrainedDir(string kind, string modelType)
    {
        string dir = Directory.CreateTempSubdirectory("cluster-cli-tok-").FullName;
        string corpus = Path.Combine(dir, "corpus.txt");
        File.WriteAllLines(corpus, Corpus);
        var r = await ClusterCli.RunAsync("tokenizer", "train", "--kind", kind, "--corpus", corpus, "--vocab-size", kind == "bpe" ? "300" : "90", "--out", dir);
        Assert.True(r.ExitCode == 0, r.Stderr);
        File.WriteAllText(Path.Combine(dir, "config.json"), $"{{\"model_type\": \"{modelType}\"}}");
        return dir;
    }

    private static List<JsonObject> Lines(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

    private static int[] Ints(JsonNode? node) => node!.AsArray().Select(v => v!.GetValue<int>()).ToArray();

    [Fact]
    public async Task RobertaLinesBecomeJsonObjectsWithOffsets()
    {
        string dir = await TrainedDir("bpe", "roberta");
        var r = await ClusterCli.RunAsync(Encoding.UTF8.GetBytes("the lazy dog\nthe fox 😀\n\n"), "tokenize", "--model-dir", dir);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = Lines(r.Stdout);
        Assert.Equal(3, lines.Count);
        var first = lines[0];
        var ids = Ints(first["input_ids"]);
        Assert.Equal([0, 2], new[] { ids[0], ids[^1] });
        Assert.All(Ints(first["attention_mask"]), v => Assert.Equal(1, v));
        var offsets = first["offsets"]!.AsArray().Select(o => (o![0]!.GetValue<int>(), o[1]!.GetValue<int>())).ToArray();
        Assert.Equal(ids.Length, offsets.Length);
        Assert.Equal("dog", "the lazy dog"[offsets[^2].Item1..offsets[^2].Item2]);
        Assert.Null(first["token_type_ids"]);
        Assert.Equal([0, 2], Ints(lines[2]["input_ids"]));   // an empty line is still a row

        var bare = Lines((await ClusterCli.RunAsync(Encoding.UTF8.GetBytes("the lazy dog\n"), "tokenize", "--model-dir", dir, "--no-special-tokens")).Stdout);
        Assert.Equal(ids[1..^1], Ints(bare[0]["input_ids"]));
    }

    [Fact]
    public async Task PairsAndMaxLength()
    {
        string dir = await TrainedDir("bpe", "roberta");
        var r = await ClusterCli.RunAsync(Encoding.UTF8.GetBytes("the quick brown fox\tjumps over the lazy dog\n"), "tokenize", "--model-dir", dir, "--pair", "--max-length", "9");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var ids = Ints(Lines(r.Stdout)[0]["input_ids"]);
        Assert.Equal(9, ids.Length);
        Assert.Equal(1, ids.Count(id => id == 0));   // <s>
        Assert.Equal(3, ids.Count(id => id == 2));   // </s> after the first text, twice, and at the end

        var missingTab = await ClusterCli.RunAsync(Encoding.UTF8.GetBytes("a\tb\nno tab here\n"), "tokenize", "--model-dir", dir, "--pair");
        Assert.Equal(1, missingTab.ExitCode);
        Assert.Contains("line 2", missingTab.Stderr);
    }

    [Fact]
    public async Task InvalidUtf8IsReplacedNotFatal()
    {
        string dir = await TrainedDir("bpe", "roberta");
        var bytes = new byte[] { (byte)'d', (byte)'o', (byte)'g', 0xFF, 0xC3, (byte)'\n' };
        var r = await ClusterCli.RunAsync(bytes, "tokenize", "--model-dir", dir, "--no-special-tokens");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var expected = await ClusterCli.RunAsync(Encoding.UTF8.GetBytes("dog\uFFFD\uFFFD\n"), "tokenize", "--model-dir", dir, "--no-special-tokens");
        Assert.Equal(Ints(Lines(expected.Stdout)[0]["input_ids"]), Ints(Lines(r.Stdout)[0]["input_ids"]));
    }

    [Fact]
    public async Task RoCBertAddsTokenTypesShapesAndPronunciations()
    {
        string dir = await TrainedDir("wordpiece", "roc_bert");
        var vocab = File.ReadAllLines(Path.Combine(dir, "vocab.txt"));
        var shapes = new JsonObject { ["[UNK]"] = 1, ["北"] = 7, ["京"] = 7 };
        var sounds = new JsonObject { ["[UNK]"] = 1, ["京"] = 9 };
        File.WriteAllText(Path.Combine(dir, "word_shape.json"), shapes.ToJsonString());
        File.WriteAllText(Path.Combine(dir, "word_pronunciation.json"), sounds.ToJsonString());
        var r = await ClusterCli.RunAsync(Encoding.UTF8.GetBytes("北京\tthe dog\n"), "tokenize", "--model-dir", dir, "--pair");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var line = Lines(r.Stdout)[0];
        var ids = Ints(line["input_ids"]);
        Assert.Equal(["[CLS]", "北", "京", "[SEP]"], ids.Take(4).Select(i => vocab[i]));
        Assert.Equal([1, 7, 7, 1], Ints(line["input_shape_ids"]).Take(4));
        Assert.Equal([1, 1, 9, 1], Ints(line["input_pronunciation_ids"]).Take(4));
        Assert.Equal([0, 0, 0, 0, 1], Ints(line["token_type_ids"]).Take(5));
    }

    [Fact]
    public async Task BadModelDirectoriesAreNamed()
    {
        string dir = await TrainedDir("bpe", "roberta");
        File.Delete(Path.Combine(dir, "merges.txt"));
        var r = await ClusterCli.RunAsync(Encoding.UTF8.GetBytes("x\n"), "tokenize", "--model-dir", dir);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("merges.txt: missing", r.Stderr);
        File.WriteAllText(Path.Combine(dir, "config.json"), "{\"model_type\": \"t5\"}");
        r = await ClusterCli.RunAsync(Encoding.UTF8.GetBytes("x\n"), "tokenize", "--model-dir", dir);
        Assert.Contains("model_type 't5'", r.Stderr);
    }

    [Fact]
    public async Task RoCBertMapsAreBuiltFromStrokeAndPinyinData()
    {
        string dir = Directory.CreateTempSubdirectory("cluster-cli-maps-").FullName;
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), ["[PAD]", "[UNK]", "京", "经", "the"]);
        string hanzi = Directory.CreateDirectory(Path.Combine(dir, "hanzi")).FullName;
        File.WriteAllText(Path.Combine(hanzi, "京.json"), "{\"medians\": [[[100, 500], [900, 500]], [[500, 900], [500, 100]]]}");
        File.WriteAllText(Path.Combine(dir, "pinyin.tsv"), "京\tjīng\n经\tjīng\n");
        var r = await ClusterCli.RunAsync("tokenizer", "rocbert-maps", "--vocab", Path.Combine(dir, "vocab.txt"), "--hanzi-dir", hanzi,
                                          "--pinyin", Path.Combine(dir, "pinyin.tsv"), "--out", dir);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var sounds = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "word_pronunciation.json")))!;
        Assert.Equal(sounds["京"]!.GetValue<int>(), sounds["经"]!.GetValue<int>());
        Assert.Contains("1 characters with stroke data", r.Stdout);

        File.WriteAllText(Path.Combine(dir, "pinyin.tsv"), "京\tjīng\nbroken line\n");
        r = await ClusterCli.RunAsync("tokenizer", "rocbert-maps", "--vocab", Path.Combine(dir, "vocab.txt"), "--hanzi-dir", hanzi,
                                      "--pinyin", Path.Combine(dir, "pinyin.tsv"), "--out", dir);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("pinyin.tsv: line 2", r.Stderr);
    }
}
