using System.Text.Json;
using Cluster.Model.Tasks;
using Cluster.Training.Evaluation;

namespace Cluster.Testing;

/// <summary>Small fine-tuning data sets for each head, made from the test corpus's words, each with what a trivial
/// predictor scores on its evaluation split (so a test can ask for a clear margin over it):
/// <list type="bullet">
/// <item>sequence classification: the kind of the animal in a sentence (pet, wild, farm); the majority class.</item>
/// <item>token classification: who chases whom (B-AGENT I-AGENT for the adjective and the chaser, B-PATIENT for the
/// chased, B-LOC for the place): the same animal words fill both roles, so the most frequent tag per word is often
/// wrong; that predictor's entity F1.</item>
/// <item>question answering: what one of two animals eats; the first sentence as the answer, its SQuAD F1.</item>
/// <item>multiple choice: which of four foods an animal eats; chance, 0.25.</item>
/// </list></summary>
public sealed class FineTuningTasks
{
    static readonly string[] Animals = ["cat", "dog", "bird", "fish", "horse", "mouse"];
    static readonly string[] Kinds = ["pet", "pet", "wild", "wild", "farm", "pet"];
    static readonly string[] Foods = ["milk", "bones", "seeds", "worms", "hay", "cheese"];
    static readonly string[] Places = ["house", "yard", "tree", "pond", "field", "hole"];
    static readonly string[] Adjectives = ["small", "big", "old", "young", "happy", "lazy"];

    public FineTuningTasks(string root, int trainRows = 240, int evalRows = 60)
    {
        Root = root;
        Directory.CreateDirectory(root);
        var random = new Random(2024);
        Write(Head.SequenceClassification, random, trainRows, evalRows, (r, _) =>
        {
            var a = r.Next(Animals.Length);
            return new { text = $"the {Adjectives[r.Next(6)]} {Animals[a]} sleeps in the {Places[r.Next(6)]}.", label = Kinds[a] };
        });
        Write(Head.TokenClassification, random, trainRows, evalRows, (r, _) =>
        {
            var (a, b) = TwoAnimals(r);
            return new
            {
                tokens = new[] { "the", Adjectives[r.Next(6)], Animals[a], "chases", "the", Animals[b], "near", "the", Places[r.Next(6)] },
                tags = new[] { "O", "B-AGENT", "I-AGENT", "O", "O", "B-PATIENT", "O", "O", "B-LOC" },
            };
        });
        Write(Head.MultipleChoice, random, trainRows, evalRows, (r, _) =>
        {
            var a = r.Next(Animals.Length);
            var endings = Foods.Where((_, i) => i != a).OrderBy(_ => r.Next()).Take(3).Append(Foods[a]).OrderBy(_ => r.Next()).ToArray();
            return new { context = $"the {Animals[a]} eats", endings, label = Array.IndexOf(endings, Foods[a]) };
        });
        foreach (var (split, rows) in new[] { ("train", trainRows), ("eval", evalRows) })
        {
            var questions = Enumerable.Range(0, rows).Select(i =>
            {
                var (a, b) = TwoAnimals(random);
                var (f, g) = (Foods[random.Next(6)], Foods[random.Next(6)]);
                var context = $"the {Animals[a]} eats {f}. the {Animals[b]} eats {g}.";
                var second = random.Next(2) == 1;
                var answer = second ? g : f;
                var start = second ? context.LastIndexOf(" " + g + ".", StringComparison.Ordinal) + 1 : context.IndexOf(" " + f + ".", StringComparison.Ordinal) + 1;
                return new { context, qas = new[] { new { id = $"{split}-{i}", question = $"what does the {Animals[second ? b : a]} eat?",
                    answers = new[] { new { text = answer, answer_start = start } } } } };
            });
            File.WriteAllText(Path(Head.QuestionAnswering, split), JsonSerializer.Serialize(new { version = "test", data = new[] { new { title = "animals", paragraphs = questions } } }));
        }
    }

    public string Root { get; }

    public string Path(Head task, string split) => System.IO.Path.Combine(Root, $"{task.Name()}-{split}.{(task == Head.QuestionAnswering ? "json" : "jsonl")}");

    static (int, int) TwoAnimals(Random r)
    {
        var a = r.Next(Animals.Length);
        var b = (a + 1 + r.Next(Animals.Length - 1)) % Animals.Length;
        return (a, b);
    }

    void Write<T>(Head task, Random random, int trainRows, int evalRows, Func<Random, int, T> row)
    {
        foreach (var (split, rows) in new[] { ("train", trainRows), ("eval", evalRows) })
            File.WriteAllLines(Path(task, split), Enumerable.Range(0, rows).Select(i => JsonSerializer.Serialize(row(random, i))));
    }

    static IEnumerable<JsonElement> Lines(string path) => File.ReadLines(path).Select(l => JsonDocument.Parse(l).RootElement);

    /// <summary>Row <paramref name="index"/> of the multiple-choice training file.</summary>
    public (string Context, string[] Endings) MultipleChoiceRow(int index)
    {
        var row = Lines(Path(Head.MultipleChoice, "train")).ElementAt(index);
        return (row.GetProperty("context").GetString()!, row.GetProperty("endings").EnumerateArray().Select(e => e.GetString()!).ToArray());
    }

    /// <summary>The majority training label's share of the evaluation labels.</summary>
    public double MajorityAccuracy()
    {
        var majority = Lines(Path(Head.SequenceClassification, "train")).GroupBy(e => e.GetProperty("label").GetString()).MaxBy(g => g.Count())!.Key;
        var eval = Lines(Path(Head.SequenceClassification, "eval")).Select(e => e.GetProperty("label").GetString()).ToArray();
        return eval.Count(l => l == majority) / (double)eval.Length;
    }

    /// <summary>Every evaluation word tagged with its most frequent training tag (O for unseen words).</summary>
    public (IReadOnlyList<IReadOnlyList<string>> References, IReadOnlyList<IReadOnlyList<string>> Predictions) MostFrequentTagPerWord()
    {
        string[] Strings(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetString()!).ToArray();
        var best = Lines(Path(Head.TokenClassification, "train"))
            .SelectMany(e => Strings(e, "tokens").Zip(Strings(e, "tags")))
            .GroupBy(p => p.First).ToDictionary(g => g.Key, g => g.GroupBy(p => p.Second).OrderByDescending(t => t.Count()).ThenBy(t => t.Key, StringComparer.Ordinal).First().Key);
        var eval = Lines(Path(Head.TokenClassification, "eval")).ToArray();
        return (eval.Select(e => (IReadOnlyList<string>)Strings(e, "tags")).ToArray(),
                eval.Select(e => (IReadOnlyList<string>)Strings(e, "tokens").Select(w => best.GetValueOrDefault(w, "O")).ToArray()).ToArray());
    }

    /// <summary>Each evaluation question answered with its context's first sentence (without the full stop).</summary>
    public (string[] Predictions, string[][] Golds) FirstSentenceAnswers()
    {
        var root = JsonDocument.Parse(File.ReadAllText(Path(Head.QuestionAnswering, "eval"))).RootElement;
        var paragraphs = root.GetProperty("data")[0].GetProperty("paragraphs").EnumerateArray().ToArray();
        return (paragraphs.Select(p => p.GetProperty("context").GetString()!.Split('.')[0]).ToArray(),
                paragraphs.Select(p => p.GetProperty("qas")[0].GetProperty("answers").EnumerateArray().Select(a => a.GetProperty("text").GetString()!).ToArray()).ToArray());
    }

    /// <summary>The task's headline evaluation metric computed from a predictions file (one JSON line per example,
    /// <c>prediction</c> and, for question answering, <c>id</c>) against the evaluation file's own labels: accuracy,
    /// seqeval entity F1, or SQuAD F1 matched by id.</summary>
    public (string Metric, double Value) ScorePredictions(Head task, string predictionsFile)
    {
        var predicted = Lines(predictionsFile).ToArray();
        for (var i = 0; i < predicted.Length; i++)
            if (predicted[i].GetProperty("index").GetInt32() != i) throw new InvalidDataException($"{predictionsFile}: line {i + 1} has index {predicted[i].GetProperty("index")}");
        string[] Strings(JsonElement e) => e.EnumerateArray().Select(x => x.GetString()!).ToArray();
        double Accuracy<T>(IEnumerable<T> truth, Func<JsonElement, T> read) =>
            truth.Zip(predicted, (t, p) => EqualityComparer<T>.Default.Equals(t, read(p.GetProperty("prediction")))).Average(hit => hit ? 1.0 : 0.0);
        switch (task)
        {
            case Head.SequenceClassification:
            {
                var truth = Lines(Path(task, "eval")).Select(e => e.GetProperty("label").GetString()!).ToArray();
                Expect(truth.Length);
                return ("eval_accuracy", Accuracy(truth, p => p.GetString()!));
            }
            case Head.MultipleChoice:
            {
                var truth = Lines(Path(task, "eval")).Select(e => e.GetProperty("label").GetInt32()).ToArray();
                Expect(truth.Length);
                return ("eval_accuracy", Accuracy(truth, p => p.GetInt32()));
            }
            case Head.TokenClassification:
            {
                var truth = Lines(Path(task, "eval")).Select(e => (IReadOnlyList<string>)Strings(e.GetProperty("tags"))).ToArray();
                Expect(truth.Length);
                return ("eval_f1", EntityMetrics.Compute(truth, predicted.Select(p => (IReadOnlyList<string>)Strings(p.GetProperty("prediction"))).ToArray()).F1);
            }
            case Head.QuestionAnswering:
            {
                var root = JsonDocument.Parse(File.ReadAllText(Path(task, "eval"))).RootElement;
                var golds = root.GetProperty("data")[0].GetProperty("paragraphs").EnumerateArray().Select(p => p.GetProperty("qas")[0])
                    .ToDictionary(q => q.GetProperty("id").GetString()!, q => (IReadOnlyList<string>)q.GetProperty("answers").EnumerateArray().Select(a => a.GetProperty("text").GetString()!).ToArray());
                Expect(golds.Count);
                var ids = predicted.Select(p => p.GetProperty("id").GetString()!).ToArray();
                return ("eval_f1", SquadMetrics.Compute(predicted.Select(p => p.GetProperty("prediction").GetString()!).ToArray(), ids.Select(id => golds[id]).ToArray()).F1);
            }
            default: throw new ArgumentException($"no evaluation data for {task}");
        }

        void Expect(int examples)
        {
            if (predicted.Length != examples) throw new InvalidDataException($"{predictionsFile}: {predicted.Length} predictions for {examples} examples");
        }
    }
}
