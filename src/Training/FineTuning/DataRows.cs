using System.Text.Json;
using CsvHelper;

namespace Cluster.Training.FineTuning;

/// <summary>One record of a fine-tuning file: its fields as JSON values, and the line it started on.</summary>
public sealed record DataRow(string File, int Line, IReadOnlyDictionary<string, JsonElement> Fields)
{
    public FineTuningDataException Error(string? field, string problem) => new(File, Line, field, problem);

    public JsonElement Required(string field) =>
        Fields.TryGetValue(field, out var value) && value.ValueKind != JsonValueKind.Null ? value : throw Error(field, "missing");

    public string RequiredString(string field)
    {
        var value = Required(field);
        return value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Error(field, $"expected a string, got {value.ValueKind.ToString().ToLowerInvariant()}");
    }

    public string? OptionalString(string field) =>
        Fields.TryGetValue(field, out var value) && value.ValueKind != JsonValueKind.Null ? RequiredString(field) : null;

    public string[] RequiredStrings(string field)
    {
        var value = Required(field);
        if (value.ValueKind != JsonValueKind.Array) throw Error(field, "expected a list of strings");
        return value.EnumerateArray().Select((e, i) => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Error($"{field}[{i}]", "expected a string")).ToArray();
    }
}

/// <summary>Reads JSONL (one object per non-blank line) or, for .csv and .tsv, a header and rows (CsvHelper, RFC
/// 4180 quoting; every cell becomes a JSON string). An empty file, or one with no record, is refused.</summary>
public static class DataRows
{
    public static IReadOnlyList<DataRow> Read(string path, bool allowDelimited)
    {
        if (!System.IO.File.Exists(path)) throw new FineTuningDataException(path, 0, null, "no such file");
        var extension = Path.GetExtension(path).ToLowerInvariant();
        var rows = extension is ".csv" or ".tsv"
            ? allowDelimited ? ReadDelimited(path, extension == ".tsv" ? '\t' : ',') : throw new FineTuningDataException(path, 1, null, "this task reads JSONL, not CSV/TSV")
            : ReadJsonLines(path);
        return rows.Count > 0 ? rows : throw new FineTuningDataException(path, 1, null, "the file holds no example");
    }

    static List<DataRow> ReadJsonLines(string path)
    {
        var rows = new List<DataRow>();
        var number = 0;
        foreach (var line in System.IO.File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument document;
            try { document = JsonDocument.Parse(line); }
            catch (JsonException e) { throw new FineTuningDataException(path, number, null, $"not valid JSON ({e.Message.Split(". ")[0]})"); }
            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object) throw new FineTuningDataException(path, number, null, "expected a JSON object");
                rows.Add(new DataRow(path, number, document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone())));
            }
        }
        return rows;
    }

    static List<DataRow> ReadDelimited(string path, char separator)
    {
        var rows = new List<DataRow>();
        var options = new CsvReaderOptions
        {
            Separator = separator, TrackLineNumbers = true, DetectSeparatorHint = false,
            MalformedData = CsvMalformedDataHandling.Throw,
        };
        try
        {
            using var csv = CsvReader.FromFile(path, options);
            while (csv.Read())
            {
                var header = csv.Headers;
                var line = (int)csv.LineNumber;
                if (csv.FieldCount != header.Count)
                    throw new FineTuningDataException(path, line, null, $"{csv.FieldCount} fields, the header has {header.Count}");
                rows.Add(new DataRow(path, line, header.Select((name, i) => (name, value: csv.GetString(i)))
                    .ToDictionary(f => f.name, f => JsonSerializer.SerializeToElement(f.value))));
            }
        }
        catch (CsvFormatException e) { throw new FineTuningDataException(path, rows.Count == 0 ? 1 : rows[^1].Line + 1, null, $"malformed CSV ({e.Message})"); }
        return rows;
    }
}
