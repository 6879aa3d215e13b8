namespace Cluster.Training.FineTuning;

/// <summary>One sentence of pre-split words and a tag id per word.</summary>
public sealed record WordsExample(int Line, string[] Words, int[] TagIds);

/// <summary>Token-classification JSONL: <c>tokens</c> (the words) and <c>tags</c> (a BIO name per word). The tag set
/// is the training file's, sorted (run_ner's get_label_list); an eval tag it lacks is refused.</summary>
public static class TokenClassificationData
{
    public static (IReadOnlyList<string> Tags, WordsExample[] Examples) ReadTraining(string path, IReadOnlyList<string>? knownTags = null)
    {
        var rows = DataRows.Read(path, allowDelimited: false).Select(Parse).ToArray();
        var tags = knownTags ?? rows.SelectMany(r => r.Tags).Distinct().Order(StringComparer.Ordinal).ToArray();
        return (tags, Resolve(rows, tags, "the training tags"));
    }

    public static WordsExample[] ReadEvaluation(string path, IReadOnlyList<string> tags) =>
        Resolve(DataRows.Read(path, allowDelimited: false).Select(Parse).ToArray(), tags, "the training file");

    static (DataRow Row, string[] Words, string[] Tags) Parse(DataRow row)
    {
        var (words, tags) = (row.RequiredStrings("tokens"), row.RequiredStrings("tags"));
        if (words.Length != tags.Length) throw row.Error("tags", $"{tags.Length} tags for {words.Length} tokens");
        if (words.Length == 0) throw row.Error("tokens", "no word");
        return (row, words, tags);
    }

    static WordsExample[] Resolve((DataRow Row, string[] Words, string[] Tags)[] rows, IReadOnlyList<string> tags, string source)
    {
        var ids = tags.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal);
        return rows.Select(r => new WordsExample(r.Row.Line, r.Words, r.Tags.Select((t, i) =>
            ids.TryGetValue(t, out var id) ? id : throw r.Row.Error($"tags[{i}]", $"tag '{t}' is not in {source} ({string.Join(", ", tags)})")).ToArray())).ToArray();
    }
}
