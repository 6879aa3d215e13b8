using System.Text;
using System.Text.Json.Nodes;
using Cluster.Model.Tokenization;

namespace Cluster.Model.Tests.Tokenization;

/// <summary>Small tokenizer directories the tests write themselves, plus reference algorithms written from the specs.</summary>
internal static class TokenizerTestFiles
{
    /// <summary>GPT-2's bytes_to_unicode, written out from its definition (independent of the product's table).</summary>
    public static readonly char[] ByteChars = BuildByteChars();

    private static char[] BuildByteChars()
    {
        var kept = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1)).Concat(Enumerable.Range('®', 'ÿ' - '®' + 1)).ToHashSet();
        var map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++) map[b] = kept.Contains(b) ? (char)b : (char)(256 + n++);
        return map;
    }

    public static string ByteSpell(string text) => new(Encoding.UTF8.GetBytes(text).Select(b => ByteChars[b]).ToArray());

    public static readonly (string, string)[] Merges =
    [
        ("Ġ", "t"), ("l", "l"), ("e", "ll"), ("h", "ell"), ("hell", "o"), ("h", "e"), ("Ġt", "he"), ("Ġ", "w"),
        ("o", "r"), ("Ġw", "or"), ("Ġwor", "l"), ("Ġworl", "d"), ("a", "a"), ("aa", "aa"), ("i", "n"), ("Ġ", "in"),
        ("in", "g"), ("Ġ", "a"), ("'", "s"), ("Ġ", "Ġ"), ("ä", "ö"),
    ];

    /// <summary>A byte-level BPE directory: specials at RoBERTa's ids, 256 byte symbols, then one token per merge.</summary>
    public static string WriteRobertaDir(bool addPrefixSpace = false, bool asTokenizerJson = false)
    {
        string dir = Directory.CreateTempSubdirectory("cluster-bpe-").FullName;
        var vocab = new JsonObject { ["<s>"] = 0, ["<pad>"] = 1, ["</s>"] = 2, ["<unk>"] = 3 };
        foreach (char c in ByteChars) vocab[c.ToString()] = vocab.Count;
        foreach (var (a, b) in Merges) if (!vocab.ContainsKey(a + b)) vocab[a + b] = vocab.Count;
        vocab["<mask>"] = vocab.Count;
        File.WriteAllText(Path.Combine(dir, "config.json"), "{\"model_type\": \"roberta\"}");
        if (asTokenizerJson)
        {
            var added = new JsonArray();
            foreach (var t in new[] { "<s>", "<pad>", "</s>", "<unk>", "<mask>" })
                added.Add(new JsonObject { ["id"] = vocab[t]!.GetValue<int>(), ["content"] = t, ["special"] = true, ["lstrip"] = t == "<mask>", ["rstrip"] = false });
            var json = new JsonObject
            {
                ["added_tokens"] = added,
                ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = addPrefixSpace, ["trim_offsets"] = true },
                ["post_processor"] = new JsonObject { ["type"] = "RobertaProcessing", ["sep"] = new JsonArray("</s>", 2), ["cls"] = new JsonArray("<s>", 0), ["trim_offsets"] = true },
                ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray(Merges.Select(m => (JsonNode)new JsonArray(m.Item1, m.Item2)).ToArray()) },
            };
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
        }
        else
        {
            File.WriteAllText(Path.Combine(dir, "vocab.json"), vocab.ToJsonString());
            File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\n" + string.Concat(Merges.Select(m => $"{m.Item1} {m.Item2}\n")));
            if (addPrefixSpace) File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"add_prefix_space\": true}");
        }
        return dir;
    }

    public static RobertaTokenizer RobertaTok(bool addPrefixSpace = false) => (RobertaTokenizer)AutoTokenizer.FromPretrained(WriteRobertaDir(addPrefixSpace));

    /// <summary>
    /// GPT-2's reference bpe(): repeatedly merge every occurrence of the lowest-ranked adjacent pair, left to right.
    /// </summary>
    public static List<string> ReferenceBpe(string byteSpelled, IReadOnlyList<(string, string)> merges)
    {
        var rank = new Dictionary<(string, string), int>();
        for (int i = 0; i < merges.Count; i++) rank.TryAdd(merges[i], i);
        var word = byteSpelled.Select(c => c.ToString()).ToList();
        while (word.Count > 1)
        {
            var best = Enumerable.Range(0, word.Count - 1).Select(i => (word[i], word[i + 1]))
                .Where(rank.ContainsKey).OrderBy(p => rank[p]).FirstOrDefault();
            if (best == default) break;
            var merged = new List<string>();
            for (int i = 0; i < word.Count; i++)
            {
                if (i + 1 < word.Count && word[i] == best.Item1 && word[i + 1] == best.Item2) { merged.Add(best.Item1 + best.Item2); i++; }
                else merged.Add(word[i]);
            }
            word = merged;
        }
        return word;
    }

    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>A RoCBert directory: a small Chinese/English WordPiece vocabulary with shape and pronunciation maps.</summary>
    public static string WriteRoCBertDir(string? tokenizerConfig = null)
    {
        string dir = Directory.CreateTempSubdirectory("cluster-rocbert-").FullName;
        string[] vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "我", "爱", "北", "京", "天", "安", "门", "##京", "un", "##aff", "##able",
                          "hello", "world", "!", ",", "cafe", "the", "##s", "a", "b", "c", "##b", "##c", "ab", "\u03c3\u03bf\u03c6\u03bf\u03c2"];
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), vocab);
        File.WriteAllText(Path.Combine(dir, "config.json"), "{\"model_type\": \"roc_bert\"}");
        // Shapes: 北 and 京 drawn alike in this toy map; pronunciations: 京 and ##京 share one, 天 and 安 share another.
        File.WriteAllText(Path.Combine(dir, "word_shape.json"),
            "{\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"[MASK]\": 4, \"我\": 5, \"爱\": 6, \"北\": 7, \"京\": 7, \"天\": 8, \"hello\": 9}");
        File.WriteAllText(Path.Combine(dir, "word_pronunciation.json"),
            "{\"[PAD]\": 0, \"[UNK]\": 1, \"[MASK]\": 4, \"我\": 10, \"爱\": 11, \"京\": 12, \"##京\": 12, \"天\": 13, \"安\": 13}");
        if (tokenizerConfig is not null) File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), tokenizerConfig);
        return dir;
    }

    public static RoCBertTokenizer RoCBertTok(string? tokenizerConfig = null) => (RoCBertTokenizer)AutoTokenizer.FromPretrained(WriteRoCBertDir(tokenizerConfig));

    /// <summary>The tokens of an encoding, as strings.</summary>
    public static string[] Tokens(Tokenizer t, TokenEncoding e) => e.InputIds.Select(id => t.IdToToken(id)!).ToArray();

    /// <summary>The original text each token's offsets point at.</summary>
    public static string[] Spans(string text, TokenEncoding e)
    {
        var codePoints = text.EnumerateRunes().Select(r => r.ToString()).ToArray();
        return e.Offsets.Select(o => string.Concat(codePoints[o.Start..o.End])).ToArray();
    }
}
