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
            return JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true })
                   ?? throw new TokenizerException($"{path}: empty JSON");
        }
        catch (JsonException e)
        {
            throw new TokenizerException($"{path}: line {(e.LineNumber ?? 0) + 1}: not valid JSON ({FirstSentence(e.Message)})");
        }
    }

    private static string FirstSentence(string message) => message.Split(". ")[0].TrimEnd('.');

    /// <summary>A JSON object of token → id (vocab.json, word_shape.json, word_pronunciation.json).</summary>
    public static Dictionary<string, int> ReadTokenIds(string path) => ReadTokenIds(ReadJson(path), path);

    public static Dictionary<string, int> ReadTokenIds(JsonNode? node, string source)
    {
        if (node is not JsonObject obj) throw new TokenizerException($"{source}: expected a JSON object of token to id");
        var ids = new Dictionary<string, int>(obj.Count, StringComparer.Ordinal);
        foreach (var (token, value) in obj)
        {
            if (value is not JsonValue v || !v.TryGetValue(out int id) || id < 0)
                throw new TokenizerException($"{source}: token '{token}' has {value?.ToJsonString() ?? "null"}, not a non-negative integer id");
            ids[token] = id;
        }
        return ids;
    }

    /// <summary>merges.txt: an optional "#version" line, then one "left right" pair per line in rank order.</summary>
    public static List<(string, string)> ReadMerges(string path)
    {
        var merges = new List<(string, string)>();
        var lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (i == 0 && line.StartsWith("#version")) continue;
            if (line.Length == 0 && i == lines.Length - 1) continue;
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
        var lines = File.ReadAllLines(path);
        int count = lines.Length;
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

    public static int? OptionalInt(JsonNode node, string key) =>
        node[key] is JsonValue v && v.TryGetValue(out long value) && value is >= 0 and < int.MaxValue ? (int)value : null;

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

    public static bool? Bool(JsonNode? node, string key, string source) => node?[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out bool b) => b,
        var other => throw new TokenizerException($"{source}: '{key}' is {other.ToJsonString()}, not true or false"),
    };

    /// <summary>A special token given as a string or as an AddedToken object {"content": ...}.</summary>
    public static string? TokenContent(JsonNode? node, string key) => node?[key] switch
    {
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonObject o => o["content"]?.GetValue<string>(),
        _ => null,
    };
}
