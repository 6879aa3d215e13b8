using System.Text.Json.Nodes;

namespace Cluster.Model.Tokenization.Training;

/// <summary>
/// Builds word_shape.json and word_pronunciation.json for a WordPiece vocabulary. Tokens that spell one CJK character
/// (or its "##" continuation) share an id with every character of the same shape or the same pronunciation; any other
/// token has an id of its own. Ids are dense and given in vocabulary order, so [PAD] (first in a BERT vocabulary) is
/// 0, the id HF's RoCBert tokenizer pads these inputs with.
/// <para>Shape: the sequence of stroke kinds from Make Me a Hanzi's stroke medians (npm <c>hanzi-writer-data</c>);
/// a stroke's kind is the compass direction from its start to its end, with a mark when it turns or hooks.
/// Pronunciation: toned pinyin (npm <c>pinyin-pro</c>, exported to a table by scripts/rocbert_maps.sh).</para>
/// </summary>
public static class RoCBertMapsBuilder
{
    public sealed record Maps(Dictionary<string, int> Shapes, Dictionary<string, int> Pronunciations,
                              int ShapeVocabSize, int PronunciationVocabSize, int CharactersWithShape, int CharactersWithPronunciation);

    public static Maps Build(IReadOnlyList<string> vocab, IReadOnlyDictionary<int, string> strokeSignatures, IReadOnlyDictionary<int, string> pinyin)
    {
        var (shapes, shapeCount, withShape) = Assign(vocab, strokeSignatures, "shape");
        var (sounds, soundCount, withSound) = Assign(vocab, pinyin, "pinyin");
        return new Maps(shapes, sounds, shapeCount, soundCount, withShape, withSound);
    }

    private static (Dictionary<string, int>, int, int) Assign(IReadOnlyList<string> vocab, IReadOnlyDictionary<int, string> feature, string kind)
    {
        var idOfKey = new Dictionary<string, int>(StringComparer.Ordinal);
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        int covered = 0;
        foreach (string token in vocab)
        {
            string key = "token:" + token;
            if (SingleCharacter(token) is { } cp && feature.TryGetValue(cp, out var value)) { key = kind + ":" + value; covered++; }
            if (!idOfKey.TryGetValue(key, out int id)) idOfKey[key] = id = idOfKey.Count;
            map.TryAdd(token, id);
        }
        return (map, idOfKey.Count, covered);
    }

    /// <summary>The code point of a token that is one character, optionally behind "##".</summary>
    private static int? SingleCharacter(string token)
    {
        var body = token.StartsWith("##", StringComparison.Ordinal) ? token[2..] : token;
        var runes = body.EnumerateRunes();
        using var e = runes.GetEnumerator();
        if (!e.MoveNext()) return null;
        var first = e.Current;
        return e.MoveNext() ? null : first.Value;
    }

    /// <summary>Reads hanzi-writer-data's directory (one "字.json" per character with "medians") into stroke signatures.</summary>
    public static Dictionary<int, string> ReadHanziWriterData(string dir)
    {
        if (!Directory.Exists(dir)) throw new TokenizerException($"{dir}: no such directory (expected npm's hanzi-writer-data)");
        var signatures = new Dictionary<int, string>();
        foreach (var path in Directory.EnumerateFiles(dir, "*.json"))
        {
            string name = Path.GetFileNameWithoutExtension(path);
            if (SingleCharacter(name) is not { } cp || name.StartsWith("##")) continue;
            var medians = TokenizerFiles.ReadJson(path)["medians"] as JsonArray
                          ?? throw new TokenizerException($"{path}: no 'medians' list (not hanzi-writer-data?)");
            signatures[cp] = StrokeSignature(medians, path);
        }
        if (signatures.Count == 0) throw new TokenizerException($"{dir}: no character files (expected files like 我.json)");
        return signatures;
    }

    /// <summary>Each stroke as one of eight directions (start to end, y pointing up), '+' when the path turns more than 75°.</summary>
    internal static string StrokeSignature(JsonArray medians, string source)
    {
        var kinds = new List<string>();
        foreach (var stroke in medians)
        {
            var points = (stroke as JsonArray)?.Select(p => (X: p![0]!.GetValue<double>(), Y: p![1]!.GetValue<double>())).ToList();
            if (points is null || points.Count < 2) throw new TokenizerException($"{source}: a stroke median has fewer than two points");
            double dx = points[^1].X - points[0].X, dy = points[^1].Y - points[0].Y;
            int sector = (int)Math.Round(Math.Atan2(dy, dx) / (Math.PI / 4));
            string direction = new[] { "W", "SW", "S", "SE", "E", "NE", "N", "NW", "W" }[sector + 4];
            kinds.Add(Turns(points) ? direction + "+" : direction);
        }
        return string.Join(",", kinds);
    }

    private static bool Turns(List<(double X, double Y)> points)
    {
        double? previous = null;
        for (int i = 1; i < points.Count; i++)
        {
            double dx = points[i].X - points[i - 1].X, dy = points[i].Y - points[i - 1].Y;
            if (dx * dx + dy * dy < 40 * 40) continue;   // ignore jitter between close points
            double angle = Math.Atan2(dy, dx);
            if (previous is { } p)
            {
                double turn = Math.Abs(angle - p);
                if (Math.Min(turn, 2 * Math.PI - turn) > 75 * Math.PI / 180) return true;
            }
            previous = angle;
        }
        return false;
    }

    /// <summary>A "character TAB pinyin" table; blank lines are skipped, anything else malformed names its line.</summary>
    public static Dictionary<int, string> ReadPinyinTable(string path)
    {
        if (!File.Exists(path)) throw new TokenizerException($"{path}: missing (expected a character<TAB>pinyin table)");
        var table = new Dictionary<int, string>();
        var lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var parts = lines[i].Split('\t');
            if (parts.Length != 2 || SingleCharacter(parts[0]) is not { } cp || parts[1].Length == 0)
                throw new TokenizerException($"{path}: line {i + 1}: expected one character, a tab and its pinyin, got '{TokenizerFiles.Shorten(lines[i])}'");
            table[cp] = parts[1];
        }
        return table;
    }
}
