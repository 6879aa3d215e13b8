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
        var vocab = TokenizerFiles.ReadTokenIds(vocabPath);
        var merges = TokenizerFiles.ReadMerges(mergesPath);
        var model = new BytePairModel(vocab, merges, mergesPath) { UnknownId = vocab.TryGetValue(settings.UnkToken, out int unk) ? unk : null };
        return new RobertaTokenizer(model, SpecialTokens(settings, vocab, []), settings);
    }

    public static RobertaTokenizer FromTokenizerJson(string path, RobertaTokenizerSettings? settings = null)
    {
        settings ??= new RobertaTokenizerSettings();
        var root = TokenizerFiles.ReadJson(path);
        var model = root["model"] ?? throw new TokenizerException($"{path}: no 'model'");
        string? type = model["type"]?.GetValue<string>();
        if (type is not null && type != "BPE") throw new TokenizerException($"{path}: model type '{type}' is not BPE, so not a RoBERTa tokenizer");
        var vocab = TokenizerFiles.ReadTokenIds(model["vocab"], $"{path}: model.vocab");
        var merges = new List<(string, string)>();
        if (model["merges"] is not JsonArray mergeArray) throw new TokenizerException($"{path}: model.merges is not a list");
        for (int i = 0; i < mergeArray.Count; i++)
        {
            var (left, right) = mergeArray[i] switch
            {
                JsonValue v when v.TryGetValue(out string? s) && s.Split(' ') is [var a, var b] => (a, b),
                JsonArray { Count: 2 } pair => (pair[0]?.GetValue<string>(), pair[1]?.GetValue<string>()),
                var other => throw new TokenizerException($"{path}: model.merges[{i}] is {other?.ToJsonString() ?? "null"}, not a pair of tokens"),
            };
            merges.Add((left ?? throw new TokenizerException($"{path}: model.merges[{i}] has a null token"),
                        right ?? throw new TokenizerException($"{path}: model.merges[{i}] has a null token")));
        }

        var pre = root["pre_tokenizer"];
        var post = root["post_processor"];
        settings = settings with
        {
            AddPrefixSpace = TokenizerFiles.Bool(pre, "add_prefix_space", path) ?? settings.AddPrefixSpace,
            TrimOffsets = TokenizerFiles.Bool(post, "trim_offsets", path) ?? settings.TrimOffsets,
            BosToken = post?["cls"]?[0]?.GetValue<string>() ?? settings.BosToken,
            EosToken = post?["sep"]?[0]?.GetValue<string>() ?? settings.EosToken,
        };
        var added = new List<AddedToken>();
        if (root["added_tokens"] is JsonArray addedArray)
            foreach (var t in addedArray)
            {
                string content = t?["content"]?.GetValue<string>() ?? throw new TokenizerException($"{path}: an added token has no content");
                int id = t["id"]?.GetValue<int>() ?? throw new TokenizerException($"{path}: added token '{content}' has no id");
                added.Add(new AddedToken(content, id, TokenizerFiles.Bool(t, "special", path) ?? false,
                    TokenizerFiles.Bool(t, "lstrip", path) ?? false, TokenizerFiles.Bool(t, "rstrip", path) ?? false));
            }
        var bpe = new BytePairModel(vocab, merges, $"{path}: model.merges") { UnknownId = vocab.TryGetValue(settings.UnkToken, out int unk) ? unk : null };
        return new RobertaTokenizer(bpe, SpecialTokens(settings, vocab, added), settings);
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
        var node = TokenizerFiles.ReadJson(path);
        return settings with
        {
            AddPrefixSpace = TokenizerFiles.Bool(node, "add_prefix_space", path) ?? settings.AddPrefixSpace,
            TrimOffsets = TokenizerFiles.Bool(node, "trim_offsets", path) ?? settings.TrimOffsets,
            BosToken = TokenizerFiles.TokenContent(node, "bos_token") ?? settings.BosToken,
            EosToken = TokenizerFiles.TokenContent(node, "eos_token") ?? settings.EosToken,
            UnkToken = TokenizerFiles.TokenContent(node, "unk_token") ?? settings.UnkToken,
            PadToken = TokenizerFiles.TokenContent(node, "pad_token") ?? settings.PadToken,
            MaskToken = TokenizerFiles.TokenContent(node, "mask_token") ?? settings.MaskToken,
            ModelMaxLength = TokenizerFiles.OptionalInt(node, "model_max_length"),
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
