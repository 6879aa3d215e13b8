using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cluster.Model.Tokenization;

/// <summary>Reading Hugging Face's tokenizer files; every failure names the file (and line where there is one).</summary>
internal static class TokenizerFiles
{
    public static string Require(string dir, string name)
    {
        string path = Path.Combine(dir, name);
        return File.Exists(path) ? path : throw new TokenizerException($"{path}: missing (a tokenizer file the model directory needs)");
    }

    public static JsonNode ReadJson(string path)
    {
        try
        {
            return JsonNode.Parse(ReadText(path), documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true })
                   ?? throw new TokenizerException($"{path}: empty JSON");
        }
        catch (JsonException e)
        {
            throw new TokenizerException($"{path}: line {(e.LineNumber ?? 0) + 1}: not valid JSON ({FirstSentence(e.Message)})");
        }
    }

    /// <summary>A tokenizer file's text; a byte that is not UTF-8 is refused with its offset (HF would fail to decode it too).</summary>
    public static string ReadText(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
            for (var rest = bytes.AsSpan(); ; )
            {
                if (System.Text.Rune.DecodeFromUtf8(rest, out _, out int used) != System.Buffers.OperationStatus.Done)
                    throw new TokenizerException($"{path}: byte {bytes.Length - rest.Length} is not valid UTF-8");
                rest = rest[used..];
            }
        return System.Text.Encoding.UTF8.GetString(bytes.AsSpan(bytes.AsSpan().StartsWith("\xEF\xBB\xBF"u8) ? 3 : 0));
    }

    /// <summary>Lines as File.ReadAllLines splits them (\n, \r\n or \r), from strictly decoded text.</summary>
    public static List<string> ReadLines(string path)
    {
        var lines = new List<string>();
        using var reader = new StringReader(ReadText(path));
        while (reader.ReadLine() is { } line) lines.Add(line);
        return lines;
    }

    private static string FirstSentence(string message) => message.Split(". ")[0].TrimEnd('.');

    /// <summary>A file whose top level must be a JSON object (tokenizer.json, tokenizer_config.json, config.json).</summary>
    public static JsonObject ReadJsonObject(string path) =>
        ReadJson(path) as JsonObject ?? throw new TokenizerException($"{path}: the top level is not a JSON object");

    /// <summary>
    /// word_shape.json, word_pronunciation.json: a JSON object of token → non-negative id (ids may repeat: characters
    /// share a shape or a pronunciation).
    /// </summary>
    public static Dictionary<string, int> ReadTokenIds(string path) => ReadTokenIds(ReadJson(path), path, unique: false);

    /// <summary>A vocabulary (vocab.json, tokenizer.json's model.vocab): every id a distinct integer in [0, count),
    /// so the id → token table is exactly as large as the file and no two tokens decode alike.</summary>
    public static Dictionary<string, int> ReadVocabulary(string path) => ReadTokenIds(ReadJson(path), path, unique: true);

    public static Dictionary<string, int> ReadTokenIds(JsonNode? node, string source, bool unique)
    {
        if (node is not JsonObject obj) throw new TokenizerException($"{source}: expected a JSON object of token to id");
        var ids = new Dictionary<string, int>(obj.Count, StringComparer.Ordinal);
        var owner = unique ? new string?[obj.Count] : null;
        foreach (var (token, value) in obj)
        {
            if (value is not JsonValue v || !v.TryGetValue(out int id) || id < 0)
                throw new TokenizerException($"{source}: token '{Shorten(token)}' has {Shorten(value?.ToJsonString() ?? "null")}, not a non-negative integer id");
            if (owner is not null)
            {
                if (id >= owner.Length)
                    throw new TokenizerException($"{source}: token '{Shorten(token)}' has id {id}, outside the {owner.Length} ids a vocabulary of {owner.Length} tokens has");
                if (owner[id] is { } other)
                    throw new TokenizerException($"{source}: tokens '{Shorten(other)}' and '{Shorten(token)}' share id {id}");
                owner[id] = token;
            }
            ids[token] = id;
        }
        return ids;
    }

    /// <summary>merges.txt: an optional "#version" line, then one "left right" pair per line in rank order.</summary>
    public static List<(string, string)> ReadMerges(string path)
    {
        var merges = new List<(string, string)>();
        var lines = ReadLines(path);
        for (int i = 0; i < lines.Count; i++)
        {
            string line = lines[i];
            if (i == 0 && line.StartsWith("#version")) continue;
            if (line.Length == 0 && i == lines.Count - 1) continue;
            var parts = line.Split(' ');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                throw new TokenizerException($"{path}: line {i + 1}: expected two tokens separated by one space, got '{Shorten(line)}'");
            merges.Add((parts[0], parts[1]));
        }
        return merges;
    }

    /// <summary>vocab.txt: one token per line, its id being the line number from 0.</summary>
    public static Dictionary<string, int> ReadVocabLines(string path)
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var lines = ReadLines(path);
        int count = lines.Count;
        for (int i = 0; i < count; i++)
        {
            // Like HF's load_vocab: a repeated token keeps its last line's id.
            vocab[lines[i]] = i;
        }
        if (vocab.Count == 0) throw new TokenizerException($"{path}: empty vocabulary");
        return vocab;
    }

    /// <summary>The token of every id: the vocabulary's, overridden by added tokens (which may extend it).</summary>
    public static string[] IdToTokenTable(IReadOnlyDictionary<string, int> vocab, IReadOnlyList<AddedToken> added)
    {
        int size = Math.Max(vocab.Count == 0 ? 0 : vocab.Values.Max() + 1, added.Count == 0 ? 0 : added.Max(t => t.Id) + 1);
        var table = new string[size];
        foreach (var (token, id) in vocab) table[id] = token;
        foreach (var t in added) table[t.Id] = t.Content;
        return table;
    }

    /// <summary>A non-negative int field, or null when absent or beyond int (HF writes 1e30 for "no limit").</summary>
    public static int? OptionalInt(JsonNode node, string key, string source) => Member(node, key) switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out long value) && value >= 0 => value < int.MaxValue ? (int)value : null,
        JsonValue v when v.TryGetValue(out double d) && d > int.MaxValue => null,
        var other => throw new TokenizerException($"{source}: '{key}' is {Shorten(other.ToJsonString())}, not a non-negative integer"),
    };

    /// <summary>model_max_length must leave room for a sequence's special tokens and one token.</summary>
    public static int? ModelMaxLength(JsonNode node, string source, int specialTokens)
    {
        var max = OptionalInt(node, "model_max_length", source);
        if (max is { } m && m <= specialTokens)
            throw new TokenizerException($"{source}: model_max_length {m} leaves no room for text once the {specialTokens} special tokens are added");
        return max;
    }

    /// <summary>A member of a JSON object; null when absent or when <paramref name="node"/> is not an object.</summary>
    public static JsonNode? Member(JsonNode? node, string key) => node is JsonObject o ? o[key] : null;

    /// <summary>A string field, or null when absent; any other JSON type is refused naming the field.</summary>
    public static string? String(JsonNode? node, string key, string source) => Member(node, key) switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        var other => throw new TokenizerException($"{source}: '{key}' is {Shorten(other.ToJsonString())}, not a string"),
    };

    /// <summary>Writes a token → id map as JSON (non-ASCII kept readable), in id order.</summary>
    public static void WriteTokenIds(IReadOnlyDictionary<string, int> ids, string path, bool indented)
    {
        var obj = new JsonObject();
        foreach (var (token, id) in ids.OrderBy(kv => kv.Value)) obj[token] = id;
        WriteAtomically(path, obj.ToJsonString(new JsonSerializerOptions
        {
            WriteIndented = indented, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }));
    }

    /// <summary>Write to a temporary file then rename, so a crash never leaves a half-written vocabulary.</summary>
    public static void WriteAtomically(string path, string content)
    {
        string temp = path + ".tmp";
        File.WriteAllText(temp, content, new System.Text.UTF8Encoding(false));
        File.Move(temp, path, overwrite: true);
    }

    public static string Shorten(string s) => s.Length <= 60 ? s : s[..57] + "...";

    public static bool? Bool(JsonNode? node, string key, string source) => Member(node, key) switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out bool b) => b,
        var other => throw new TokenizerException($"{source}: '{key}' is {Shorten(other.ToJsonString())}, not true or false"),
    };

    /// <summary>A special token given as a string or as an AddedToken object {"content": ...}.</summary>
    public static string? TokenContent(JsonNode? node, string key, string source) => Member(node, key) switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonObject o => String(o, "content", $"{source}: {key}") ?? throw new TokenizerException($"{source}: {key} has no content"),
        var other => throw new TokenizerException($"{source}: '{key}' is {Shorten(other.ToJsonString())}, not a token"),
    };
}
