using System.Text.Json.Nodes;

namespace Cluster.Model.Tokenization;

/// <summary>Builds a <see cref="RoCBertTokenizer"/> from vocab.txt, word_shape.json, word_pronunciation.json and tokenizer_config.json.</summary>
public static class RoCBertTokenizerFiles
{
    public static RoCBertTokenizer Load(string dir) => FromFiles(
        TokenizerFiles.Require(dir, "vocab.txt"), TokenizerFiles.Require(dir, "word_shape.json"),
        TokenizerFiles.Require(dir, "word_pronunciation.json"), ReadConfig(dir));

    public static RoCBertTokenizer FromFiles(string vocabPath, string shapePath, string pronunciationPath, RoCBertTokenizerSettings? settings = null)
    {
        settings ??= new RoCBertTokenizerSettings();
        var vocab = TokenizerFiles.ReadVocabLines(vocabPath);
        var shapes = TokenizerFiles.ReadTokenIds(shapePath);
        var pronunciations = TokenizerFiles.ReadTokenIds(pronunciationPath);
        // Special tokens the vocabulary lacks get the next ids, in HF's order (unk, sep, pad, cls, mask).
        var added = new List<AddedToken>();
        int next = vocab.Values.Max() + 1;
        foreach (var content in new[] { settings.UnkToken, settings.SepToken, settings.PadToken, settings.ClsToken, settings.MaskToken }.Distinct())
            added.Add(new AddedToken(content, vocab.TryGetValue(content, out int id) ? id : next++));
        return new RoCBertTokenizer(vocab, shapes, pronunciations, added, settings, Path.GetDirectoryName(Path.GetFullPath(vocabPath))!);
    }

    private static RoCBertTokenizerSettings ReadConfig(string dir)
    {
        string path = Path.Combine(dir, "tokenizer_config.json");
        var s = new RoCBertTokenizerSettings();
        if (!File.Exists(path)) return s;
        var node = TokenizerFiles.ReadJsonObject(path);
        return s with
        {
            DoLowerCase = TokenizerFiles.Bool(node, "do_lower_case", path) ?? s.DoLowerCase,
            DoBasicTokenize = TokenizerFiles.Bool(node, "do_basic_tokenize", path) ?? s.DoBasicTokenize,
            TokenizeChineseChars = TokenizerFiles.Bool(node, "tokenize_chinese_chars", path) ?? s.TokenizeChineseChars,
            StripAccents = TokenizerFiles.Bool(node, "strip_accents", path),
            NeverSplit = node["never_split"] switch
            {
                null => s.NeverSplit,
                JsonArray a => a.Select((x, i) => x is JsonValue v && v.TryGetValue(out string? t) ? t
                    : throw new TokenizerException($"{path}: never_split[{i}] is {TokenizerFiles.Shorten(x?.ToJsonString() ?? "null")}, not a string")).ToList(),
                var other => throw new TokenizerException($"{path}: never_split is {TokenizerFiles.Shorten(other.ToJsonString())}, not a list of strings"),
            },
            UnkToken = TokenizerFiles.TokenContent(node, "unk_token", path) ?? s.UnkToken,
            SepToken = TokenizerFiles.TokenContent(node, "sep_token", path) ?? s.SepToken,
            PadToken = TokenizerFiles.TokenContent(node, "pad_token", path) ?? s.PadToken,
            ClsToken = TokenizerFiles.TokenContent(node, "cls_token", path) ?? s.ClsToken,
            MaskToken = TokenizerFiles.TokenContent(node, "mask_token", path) ?? s.MaskToken,
            ModelMaxLength = TokenizerFiles.ModelMaxLength(node, path, specialTokens: 2),   // [CLS] … [SEP]
        };
    }

    /// <summary>Writes vocab.txt, one token per line in id order (what HF's save_vocabulary writes).</summary>
    public static void SaveVocab(IReadOnlyList<string> tokensById, string dir)
    {
        Directory.CreateDirectory(dir);
        TokenizerFiles.WriteAtomically(Path.Combine(dir, "vocab.txt"), string.Concat(tokensById.Select(t => t + "\n")));
    }

    /// <summary>Writes a token → id map as word_shape.json / word_pronunciation.json.</summary>
    public static void SaveMap(IReadOnlyDictionary<string, int> map, string path) => TokenizerFiles.WriteTokenIds(map, path, indented: true);
}

/// <summary>Picks the tokenizer a model directory's config.json (model_type) names.</summary>
public static class AutoTokenizer
{
    public static Tokenizer FromPretrained(string dir)
    {
        if (!Directory.Exists(dir)) throw new TokenizerException($"{dir}: no such model directory");
        string configPath = TokenizerFiles.Require(dir, "config.json");
        string? type = TokenizerFiles.String(TokenizerFiles.ReadJsonObject(configPath), "model_type", configPath);
        return type switch
        {
            "roberta" => RobertaTokenizerFiles.Load(dir),
            "roc_bert" => RoCBertTokenizerFiles.Load(dir),
            null => throw new TokenizerException($"{configPath}: no model_type (expected roberta or roc_bert)"),
            _ => throw new TokenizerException($"{configPath}: model_type '{type}' has no tokenizer here (expected roberta or roc_bert)"),
        };
    }
}
