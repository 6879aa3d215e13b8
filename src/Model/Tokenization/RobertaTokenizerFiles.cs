using System.Text.Json.Nodes;

namespace Cluster.Model.Tokenization;

/// <summary>
/// Builds a <see cref="RobertaTokenizer"/> from a model directory: tokenizer.json when present (the tokenizers
/// library's format), else vocab.json + merges.txt, with tokenizer_config.json's settings when present.
/// </summary>
public static class RobertaTokenizerFiles
{
    public static RobertaTokenizer Load(string dir)
    {
        var settings = ReadConfig(dir);
        string tokenizerJson = Path.Combine(dir, "tokenizer.json");
        return File.Exists(tokenizerJson)
            ? FromTokenizerJson(tokenizerJson, settings)
            : FromVocabAndMerges(TokenizerFiles.Require(dir, "vocab.json"), TokenizerFiles.Require(dir, "merges.txt"), settings);
    }

    public static RobertaTokenizer FromVocabAndMerges(string vocabPath, string mergesPath, RobertaTokenizerSettings? settings = null)
    {
        settings ??= new RobertaTokenizerSettings();
        var vocab = TokenizerFiles.ReadVocabulary(vocabPath);
        var merges = TokenizerFiles.ReadMerges(mergesPath);
        var model = new BytePairModel(vocab, merges, mergesPath) { UnknownId = vocab.TryGetValue(settings.UnkToken, out int unk) ? unk : null };
        return new RobertaTokenizer(model, SpecialTokens(settings, vocab, []), settings);
    }

    public static RobertaTokenizer FromTokenizerJson(string path, RobertaTokenizerSettings? settings = null)
    {
        settings ??= new RobertaTokenizerSettings();
        var root = TokenizerFiles.ReadJsonObject(path);
        var model = root["model"] as JsonObject ?? throw new TokenizerException($"{path}: no 'model' object");
        string? type = TokenizerFiles.String(model, "type", $"{path}: model");
        if (type is not null && type != "BPE") throw new TokenizerException($"{path}: model type '{type}' is not BPE, so not a RoBERTa tokenizer");
        var vocab = TokenizerFiles.ReadTokenIds(model["vocab"], $"{path}: model.vocab", unique: true);
        var merges = new List<(string, string)>();
        if (model["merges"] is not JsonArray mergeArray) throw new TokenizerException($"{path}: model.merges is not a list");
        for (int i = 0; i < mergeArray.Count; i++)
        {
            var (left, right) = mergeArray[i] switch
            {
                JsonValue v when v.TryGetValue(out string? s) && s.Split(' ') is [var a, var b] => (a, b),
                JsonArray { Count: 2 } pair when pair[0] is JsonValue a && a.TryGetValue(out string? l) && pair[1] is JsonValue b && b.TryGetValue(out string? r) => (l, r),
                var other => throw new TokenizerException($"{path}: model.merges[{i}] is {TokenizerFiles.Shorten(other?.ToJsonString() ?? "null")}, not a pair of tokens"),
            };
            merges.Add((left, right));
        }

        var pre = root["pre_tokenizer"];
        var post = root["post_processor"];
        settings = settings with
        {
            AddPrefixSpace = TokenizerFiles.Bool(pre, "add_prefix_space", $"{path}: pre_tokenizer") ?? settings.AddPrefixSpace,
            TrimOffsets = TokenizerFiles.Bool(post, "trim_offsets", $"{path}: post_processor") ?? settings.TrimOffsets,
            BosToken = TemplateToken(post, "cls", path) ?? settings.BosToken,
            EosToken = TemplateToken(post, "sep", path) ?? settings.EosToken,
        };
        var added = ReadAddedTokens(root["added_tokens"], path, vocab.Count);
        var bpe = new BytePairModel(vocab, merges, $"{path}: model.merges") { UnknownId = vocab.TryGetValue(settings.UnkToken, out int unk) ? unk : null };
        return new RobertaTokenizer(bpe, SpecialTokens(settings, vocab, added), settings);
    }

    /// <summary>post_processor.cls / .sep: ["&lt;s&gt;", 0], the token and its id.</summary>
    private static string? TemplateToken(JsonNode? post, string key, string path) => TokenizerFiles.Member(post, key) switch
    {
        null => null,
        JsonArray { Count: 2 } a when a[0] is JsonValue v && v.TryGetValue(out string? token) => token,
        var other => throw new TokenizerException($"{path}: post_processor.{key} is {TokenizerFiles.Shorten(other.ToJsonString())}, not [token, id]"),
    };

    /// <summary>
    /// tokenizer.json's added_tokens: each a string content with an integer id that is non-negative, at most one past the
    /// ids already given out (so the id table stays as large as the tokens), and not shared with a different token.
    /// </summary>
    private static List<AddedToken> ReadAddedTokens(JsonNode? node, string path, int vocabSize)
    {
        var added = new List<AddedToken>();
        if (node is null) return added;
        if (node is not JsonArray array) throw new TokenizerException($"{path}: added_tokens is not a list");
        var byId = new Dictionary<int, string>();
        for (int i = 0; i < array.Count; i++)
        {
            string where = $"{path}: added_tokens[{i}]";
            var t = array[i] as JsonObject ?? throw new TokenizerException($"{where} is not an object");
            string content = TokenizerFiles.String(t, "content", where) ?? throw new TokenizerException($"{where} has no content");
            int id = t["id"] is JsonValue v && v.TryGetValue(out long n) && n >= 0 && n <= vocabSize + array.Count
                ? (int)n
                : throw new TokenizerException($"{where} ('{TokenizerFiles.Shorten(content)}') has id {TokenizerFiles.Shorten(t["id"]?.ToJsonString() ?? "null")}, " +
                                               $"not an integer in [0, {vocabSize + array.Count}]");
            if (byId.TryGetValue(id, out var other) && other != content)
                throw new TokenizerException($"{where}: '{TokenizerFiles.Shorten(content)}' and '{TokenizerFiles.Shorten(other)}' share id {id}");
            byId[id] = content;
            added.Add(new AddedToken(content, id, TokenizerFiles.Bool(t, "special", where) ?? false,
                TokenizerFiles.Bool(t, "lstrip", where) ?? false, TokenizerFiles.Bool(t, "rstrip", where) ?? false));
        }
        return added;
    }

    /// <summary>
    /// The five special tokens plus any others declared. Ones the vocabulary lacks get the next free ids in HF's
    /// order (bos, eos, unk, pad, mask), as a slow HF tokenizer would add them.
    /// </summary>
    private static List<AddedToken> SpecialTokens(RobertaTokenizerSettings s, Dictionary<string, int> vocab, List<AddedToken> declared)
    {
        var tokens = new List<AddedToken>(declared);
        int next = Math.Max(vocab.Count == 0 ? 0 : vocab.Values.Max() + 1, declared.Count == 0 ? 0 : declared.Max(t => t.Id) + 1);
        foreach (var content in new[] { s.BosToken, s.EosToken, s.UnkToken, s.PadToken, s.MaskToken }.Distinct())
        {
            if (tokens.Any(t => t.Content == content)) continue;
            int id = vocab.TryGetValue(content, out int known) ? known : next++;
            tokens.Add(new AddedToken(content, id, Special: true, LStrip: content == s.MaskToken));
        }
        return tokens;
    }

    private static RobertaTokenizerSettings ReadConfig(string dir)
    {
        string path = Path.Combine(dir, "tokenizer_config.json");
        var settings = new RobertaTokenizerSettings();
        if (!File.Exists(path)) return settings;
        var node = TokenizerFiles.ReadJsonObject(path);
        return settings with
        {
            AddPrefixSpace = TokenizerFiles.Bool(node, "add_prefix_space", path) ?? settings.AddPrefixSpace,
            TrimOffsets = TokenizerFiles.Bool(node, "trim_offsets", path) ?? settings.TrimOffsets,
            BosToken = TokenizerFiles.TokenContent(node, "bos_token", path) ?? settings.BosToken,
            EosToken = TokenizerFiles.TokenContent(node, "eos_token", path) ?? settings.EosToken,
            UnkToken = TokenizerFiles.TokenContent(node, "unk_token", path) ?? settings.UnkToken,
            PadToken = TokenizerFiles.TokenContent(node, "pad_token", path) ?? settings.PadToken,
            MaskToken = TokenizerFiles.TokenContent(node, "mask_token", path) ?? settings.MaskToken,
            ModelMaxLength = TokenizerFiles.ModelMaxLength(node, path, specialTokens: 2),   // <s> … </s>
        };
    }

    /// <summary>Writes vocab.json and merges.txt (what HF's RobertaTokenizer.save_vocabulary writes).</summary>
    public static void Save(IReadOnlyDictionary<string, int> vocab, IReadOnlyList<(string, string)> merges, string dir)
    {
        Directory.CreateDirectory(dir);
        TokenizerFiles.WriteTokenIds(vocab, Path.Combine(dir, "vocab.json"), indented: false);
        TokenizerFiles.WriteAtomically(Path.Combine(dir, "merges.txt"), "#version: 0.2\n" + string.Concat(merges.Select(m => $"{m.Item1} {m.Item2}\n")));
    }
}
