namespace Cluster.Training.FineTuning;

/// <summary>A context, its candidate endings, and the index of the right one.</summary>
public sealed record ChoiceExample(int Line, string Context, string[] Endings, int Label);

/// <summary>Multiple-choice JSONL: <c>context</c>, <c>endings</c> (the same number on every row) and <c>label</c>, the
/// right ending's index.</summary>
public static class MultipleChoiceData
{
    /// <param name="choices">the ending count the rows must have; null: the first row's</param>
    public static ChoiceExample[] Read(string path, int? choices = null)
    {
        var examples = DataRows.Read(path, allowDelimited: false).Select(row =>
        {
            var endings = row.RequiredStrings("endings");
            var label = row.Required("label");
            if (label.ValueKind != System.Text.Json.JsonValueKind.Number || !label.TryGetInt32(out var index))
                throw row.Error("label", "expected the right ending's index (an integer)");
            if (index < 0 || index >= endings.Length) throw row.Error("label", $"{index} is not the index of one of its {endings.Length} endings");
            return (Row: row, Example: new ChoiceExample(row.Line, row.RequiredString("context"), endings, index));
        }).ToArray();
        var expected = choices ?? examples[0].Example.Endings.Length;
        if (expected < 2) throw examples[0].Row.Error("endings", $"{expected} ending: a choice needs at least two");
        foreach (var (row, example) in examples)
            if (example.Endings.Length != expected)
                throw row.Error("endings", $"{example.Endings.Length} endings, but {(choices is null ? "the first row has" : "training had")} {expected}: every row needs the same number");
        return examples.Select(e => e.Example).ToArray();
    }
}
