using System.Globalization;
using System.Text.Json;

namespace Cluster.Training.FineTuning;

/// <summary>Hugging Face's three kinds of sequence classification (config.json's problem_type names).</summary>
public enum ProblemType { SingleLabel, MultiLabel, Regression }

public static class ProblemTypes
{
    public static string HfName(this ProblemType type) => type switch
    {
        ProblemType.SingleLabel => "single_label_classification",
        ProblemType.MultiLabel => "multi_label_classification",
        _ => "regression",
    };

    public static ProblemType Parse(string name) => name switch
    {
        "single_label_classification" or "single-label" => ProblemType.SingleLabel,
        "multi_label_classification" or "multi-label" => ProblemType.MultiLabel,
        "regression" => ProblemType.Regression,
        _ => throw new ArgumentException($"unknown problem type '{name}' (known: single_label_classification, multi_label_classification, regression)"),
    };
}

/// <summary>One text (or pair) and its label resolved against the label set: a class id, the ids of a multi-label
/// example, or a regression target.</summary>
public sealed record TextExample(int Line, string Text, string? Pair, int ClassId, int[] LabelIds, double Target);

/// <summary>The labels of a sequence-classification task, as run_glue derives them: names sorted, or the ids the
/// data uses, or one regression output. What config.json then carries as id2label and label2id.</summary>
public sealed record LabelSet(ProblemType Problem, IReadOnlyList<string> Names)
{
    public int Count => Problem == ProblemType.Regression ? 1 : Names.Count;
    public int IdOf(string name) => Names.ToList().IndexOf(name);
}

/// <summary>
/// Sequence-classification files: JSONL, CSV or TSV with <c>text</c>, optional <c>text_pair</c> and <c>label</c>. A
/// label is a name (a string), a class id (an integer), a list of names or ids (multi-label) or a number with a
/// decimal point (regression); the kind follows from the training file unless given. Labels are read from the training
/// file; an eval label it lacks, or an id outside num_labels, is refused with its file, line and field.
/// </summary>
public static class SequenceClassificationData
{
    /// <param name="knownLabels">the model's own id2label when it was fine-tuned with names already (these are kept)</param>
    /// <param name="numLabels">the class count ids must fall below; null: the largest training id + 1</param>
    public static (LabelSet Labels, TextExample[] Examples) ReadTraining(string path, ProblemType? problem = null,
                                                                       IReadOnlyList<string>? knownLabels = null, int? numLabels = null)
    {
        var rows = DataRows.Read(path, allowDelimited: true);
        var raw = rows.Select(r => (Row: r, Label: RawLabel.Of(r))).ToArray();
        var kind = problem ?? (raw.Any(r => r.Label.IsFraction) ? ProblemType.Regression
            : raw.Any(r => r.Label.List is not null) ? ProblemType.MultiLabel : ProblemType.SingleLabel);
        LabelSet labels;
        if (kind == ProblemType.Regression) labels = new LabelSet(kind, ["LABEL_0"]);
        else
        {
            var items = raw.SelectMany(r => r.Label.Items(r.Row, kind).Select(item => (r.Row, Item: item))).ToArray();
            var byName = items.FirstOrDefault().Item.Name is not null;
            foreach (var (row, item) in items)
                if ((item.Name is not null) != byName)
                    throw row.Error("label", $"mixes {(byName ? "names" : "ids")} and {(byName ? "ids" : "names")}: every label of a file is one or the other");
            if (byName)
                labels = new LabelSet(kind, knownLabels ?? items.Select(i => i.Item.Name!).Distinct().Order(StringComparer.Ordinal).ToArray());
            else
            {
                var count = numLabels ?? knownLabels?.Count ?? (int)items.Max(i => i.Item.Id) + 1;
                labels = new LabelSet(kind, knownLabels ?? Enumerable.Range(0, count).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray());
            }
        }
        return (labels, Resolve(rows, labels, path));
    }

    public static TextExample[] ReadEvaluation(string path, LabelSet labels) => Resolve(DataRows.Read(path, allowDelimited: true), labels, path);

    /// <summary>A test file: labelled as an evaluation file, or with no <c>label</c> on any row (run_glue's test sets),
    /// whose examples are then only predicted. A file with labels on some rows only is refused at the first without.</summary>
    public static (TextExample[] Examples, bool Labelled) ReadTest(string path, LabelSet labels)
    {
        var rows = DataRows.Read(path, allowDelimited: true);
        if (rows.Any(r => r.Fields.ContainsKey("label"))) return (Resolve(rows, labels, path), true);
        return (rows.Select(row => new TextExample(row.Line, row.RequiredString("text"), row.OptionalString("text_pair"), 0, [], double.NaN)).ToArray(), false);
    }

    static TextExample[] Resolve(IReadOnlyList<DataRow> rows, LabelSet labels, string path) => rows.Select(row =>
    {
        var text = row.RequiredString("text");
        var pair = row.OptionalString("text_pair");
        var label = RawLabel.Of(row);
        if (labels.Problem == ProblemType.Regression)
            return label.Number is { } target ? new TextExample(row.Line, text, pair, 0, [], target) : throw row.Error("label", "a regression label must be a number");
        var ids = label.Items(row, labels.Problem).Select(item => IdOf(item, labels, row)).ToArray();
        return new TextExample(row.Line, text, pair, labels.Problem == ProblemType.SingleLabel ? ids[0] : -1, ids, double.NaN);
    }).ToArray();

    static int IdOf((string? Name, long Id) item, LabelSet labels, DataRow row)
    {
        if (item.Name is { } name)
        {
            var id = labels.IdOf(name);
            return id >= 0 ? id : throw row.Error("label", $"'{name}' is not among the training labels ({string.Join(", ", labels.Names)})");
        }
        return item.Id >= 0 && item.Id < labels.Count ? (int)item.Id : throw row.Error("label", $"id {item.Id} is outside num_labels {labels.Count}");
    }

    /// <summary>A label as the file wrote it.</summary>
    readonly record struct RawLabel(string? Name, long? Id, double? Number, bool IsFraction, RawLabel[]? List)
    {
        public static RawLabel Of(DataRow row) => Parse(row.Required("label"), row, "label");

        static RawLabel Parse(JsonElement value, DataRow row, string field) => value.ValueKind switch
        {
            JsonValueKind.String => FromText(value.GetString()!),
            JsonValueKind.Number => value.TryGetInt64(out var id) && !value.GetRawText().Contains('.') && !value.GetRawText().Contains('e', StringComparison.OrdinalIgnoreCase)
                ? new RawLabel(null, id, id, false, null)
                : new RawLabel(null, null, value.GetDouble(), true, null),
            JsonValueKind.Array => new RawLabel(null, null, null, false, value.EnumerateArray().Select((e, i) => Parse(e, row, $"{field}[{i}]")).ToArray()),
            _ => throw row.Error(field, $"expected a name, an id, a list or a number, got {value.ValueKind.ToString().ToLowerInvariant()}"),
        };

        /// <summary>A CSV cell: an integer is an id, a number with a point a regression target, anything else a name.</summary>
        static RawLabel FromText(string text) =>
            long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) ? new RawLabel(null, id, id, false, null)
            : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? new RawLabel(null, null, number, true, null)
            : new RawLabel(text, null, null, false, null);

        public IEnumerable<(string? Name, long Id)> Items(DataRow row, ProblemType problem)
        {
            if (problem == ProblemType.SingleLabel)
            {
                if (List is not null) throw row.Error("label", "a list of labels, but the task is single-label");
                return [Item(this, row)];
            }
            return (List ?? [this]).Select(l => Item(l, row)).ToArray();
        }

        static (string? Name, long Id) Item(RawLabel label, DataRow row) =>
            label.Name is not null ? (label.Name, -1)
            : label.Id is { } id ? (null, id)
            : throw row.Error("label", label.List is not null ? "a list inside a list" : $"{label.Number} is not a class (a name or an integer id)");
    }
}
