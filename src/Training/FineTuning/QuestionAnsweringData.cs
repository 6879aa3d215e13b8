using Cluster.Model.Tokenization;
using System.Text.Json;

namespace Cluster.Training.FineTuning;

/// <summary>A gold answer: its text and where it starts in the context, in code points (SQuAD's answer_start, a
/// Python string index).</summary>
public readonly record struct Answer(string Text, int Start)
{
    public int End => Start + CodePoints.Count(Text);
}

/// <summary>One question about one context; no answers: unanswerable (SQuAD v2).</summary>
public sealed record QuestionExample(string Id, string Question, string Context, Answer[] Answers);

/// <summary>SQuAD v1.1/v2.0 JSON: <c>data[].paragraphs[].{context, qas[].{id, question, answers[].{text,
/// answer_start}, is_impossible}}</c>. Each answer must be the context's text at its answer_start; an answerable
/// question must have an answer. Errors name the JSON path.</summary>
public static class QuestionAnsweringData
{
    public static QuestionExample[] Read(string path)
    {
        if (!File.Exists(path)) throw new FineTuningDataException(path, 0, null, "no such file");
        JsonDocument document;
        try { document = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new FineTuningDataException(path, (int)(e.LineNumber ?? 0) + 1, null, $"not valid JSON ({e.Message.Split(". ")[0]})"); }
        using (document)
        {
            var examples = new List<QuestionExample>();
            if (!document.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
                throw new FineTuningDataException(path, "the top level", "data", "missing: a SQuAD file holds a list of articles under \"data\"");
            var a = 0;
            foreach (var article in data.EnumerateArray())
            {
                var p = 0;
                foreach (var paragraph in Array(article, "paragraphs", path, $"data[{a}]"))
                {
                    var where = $"data[{a}].paragraphs[{p}]";
                    var context = String(paragraph, "context", path, where);
                    var q = 0;
                    foreach (var qa in Array(paragraph, "qas", path, where))
                        examples.Add(Question(qa, context, path, $"{where}.qas[{q++}]"));
                    p++;
                }
                a++;
            }
            return examples.Count > 0 ? examples.ToArray() : throw new FineTuningDataException(path, "data", null, "the file holds no question");
        }
    }

    static QuestionExample Question(JsonElement qa, string context, string path, string where)
    {
        var id = String(qa, "id", path, where);
        var question = String(qa, "question", path, where);
        var impossible = qa.TryGetProperty("is_impossible", out var flag) && flag.ValueKind == JsonValueKind.True;
        var answers = new List<Answer>();
        var i = 0;
        foreach (var answer in impossible ? Enumerable.Empty<JsonElement>() : Array(qa, "answers", path, where))
        {
            var at = $"{where}.answers[{i++}]";
            var text = String(answer, "text", path, at);
            if (!answer.TryGetProperty("answer_start", out var start) || !start.TryGetInt32(out var begin))
                throw new FineTuningDataException(path, at, "answer_start", "missing or not an integer");
            var found = CodePoints.Slice(context, begin, begin + CodePoints.Count(text));
            if (found != text)
                throw new FineTuningDataException(path, at, "answer_start",
                    $"the context at {begin} reads '{found ?? "(past its end)"}', not the answer '{text}' (question {id})");
            answers.Add(new Answer(text, begin));
        }
        if (!impossible && answers.Count == 0) throw new FineTuningDataException(path, where, "answers", $"question {id} has no answer and is not marked is_impossible");
        return new QuestionExample(id, question, context, answers.ToArray());
    }

    static JsonElement.ArrayEnumerator Array(JsonElement parent, string name, string path, string where) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray()
            : throw new FineTuningDataException(path, where, name, "missing or not a list");

    static string String(JsonElement parent, string name, string path, string where) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new FineTuningDataException(path, where, name, "missing or not a string");
}
