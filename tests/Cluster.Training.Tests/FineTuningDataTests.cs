using Cluster.Model.Configuration;
using Cluster.Model.Tasks;
using Cluster.Testing;
using Cluster.Torch;
using Cluster.Training.FineTuning;

namespace Cluster.Training.Tests;

/// <summary>Fine-tuning files are refused with one line naming the file, the line (or JSON path) and the field; labels
/// are read as run_glue and run_ner read them; features are encoded as run_ner and run_qa encode them.</summary>
[Collection("corpus")]
public sealed class FineTuningDataTests(TestCorpus corpus) : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("cluster-finetune-data-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    string File(string name, params string[] lines)
    {
        var path = Path.Combine(_root, name);
        System.IO.File.WriteAllLines(path, lines);
        return path;
    }

    static void AssertRefused(Action read, params string[] parts)
    {
        var e = Assert.Throws<FineTuningDataException>(read);
        foreach (var part in parts) Assert.Contains(part, e.Message);
    }

    [Fact]
    public void Labels_are_names_sorted_or_ids_and_the_kind_follows_from_them()
    {
        var names = File("names.jsonl", """{"text": "a", "label": "pos"}""", """{"text": "b", "label": "neg"}""");
        var (labels, examples) = SequenceClassificationData.ReadTraining(names);
        Assert.Equal(ProblemType.SingleLabel, labels.Problem);
        Assert.Equal(["neg", "pos"], labels.Names);
        Assert.Equal([1, 0], examples.Select(x => x.ClassId));
        var multi = File("multi.jsonl", """{"text": "a", "label": ["x", "y"]}""", """{"text": "b", "label": ["y"]}""");
        Assert.Equal(ProblemType.MultiLabel, SequenceClassificationData.ReadTraining(multi).Labels.Problem);
        var regression = File("regression.jsonl", """{"text": "a", "label": 0.5}""", """{"text": "b", "label": 3}""");
        var (r, rows) = SequenceClassificationData.ReadTraining(regression);
        Assert.Equal((ProblemType.Regression, 1), (r.Problem, r.Count));
        Assert.Equal([0.5, 3.0], rows.Select(x => x.Target));
    }

    [Fact]
    public void CSV_and_TSV_have_a_header_and_quoted_fields()
    {
        var csv = File("data.csv", "text,text_pair,label", "\"hello, world\",\"a \"\"pair\"\"\",pos", "plain,,neg");
        var (labels, examples) = SequenceClassificationData.ReadTraining(csv);
        Assert.Equal(["neg", "pos"], labels.Names);
        Assert.Equal(("hello, world", "a \"pair\""), (examples[0].Text, examples[0].Pair));
        var tsv = File("data.tsv", "label\ttext", "1\tone, with a comma", "0\tzero");
        var (ids, rows) = SequenceClassificationData.ReadTraining(tsv);
        Assert.Equal(["0", "1"], ids.Names);
        Assert.Equal(("one, with a comma", 1), (rows[0].Text, rows[0].ClassId));
        AssertRefused(() => SequenceClassificationData.ReadTraining(File("short.csv", "text,label", "a,pos", "b")), "short.csv", "line 3", "1 fields, the header has 2");
    }

    [Fact]
    public void A_label_outside_num_labels_is_refused()
    {
        var path = File("ids.jsonl", """{"text": "a", "label": 0}""", """{"text": "b", "label": 1}""", """{"text": "c", "label": 2}""");
        AssertRefused(() => SequenceClassificationData.ReadTraining(path, numLabels: 2), "ids.jsonl", "line 3", "label", "id 2 is outside num_labels 2");
    }

    [Fact]
    public void An_eval_label_or_tag_the_training_file_lacks_is_refused()
    {
        var (labels, _) = SequenceClassificationData.ReadTraining(File("train.jsonl", """{"text": "a", "label": "pos"}"""));
        AssertRefused(() => SequenceClassificationData.ReadEvaluation(File("eval.jsonl", """{"text": "a", "label": "pos"}""", """{"text": "b", "label": "meh"}"""), labels),
            "eval.jsonl", "line 2", "label", "'meh' is not among the training labels");
        var (tags, _) = TokenClassificationData.ReadTraining(File("ner-train.jsonl", """{"tokens": ["a", "b"], "tags": ["B-X", "O"]}"""));
        AssertRefused(() => TokenClassificationData.ReadEvaluation(File("ner-eval.jsonl", """{"tokens": ["a"], "tags": ["B-Y"]}"""), tags),
            "ner-eval.jsonl", "line 1", "tags[0]", "tag 'B-Y' is not in the training file");
        AssertRefused(() => TokenClassificationData.ReadTraining(File("ner-bad.jsonl", """{"tokens": ["a", "b"], "tags": ["O"]}""")), "line 1", "tags", "1 tags for 2 tokens");
    }

    [Fact]
    public void A_QA_answer_not_at_its_answer_start_is_refused()
    {
        var path = File("squad.json", """{"data": [{"paragraphs": [{"context": "the cat eats milk", "qas": [{"id": "q1", "question": "what?", "answers": [{"text": "milk", "answer_start": 13}]}, {"id": "q2", "question": "who?", "answers": [{"text": "cat", "answer_start": 3}]}]}]}]}""");
        AssertRefused(() => QuestionAnsweringData.Read(path), "squad.json", "data[0].paragraphs[0].qas[1].answers[0]", "answer_start", "reads ' ca', not the answer 'cat'");
    }

    [Fact]
    public void Multiple_choice_rows_with_differing_numbers_of_endings_are_refused()
    {
        var path = File("swag.jsonl", """{"context": "a", "endings": ["x", "y"], "label": 0}""", """{"context": "b", "endings": ["x", "y", "z"], "label": 1}""");
        AssertRefused(() => MultipleChoiceData.Read(path), "swag.jsonl", "line 2", "endings", "3 endings, but the first row has 2");
    }

    [Theory]
    [InlineData(Head.SequenceClassification)]
    [InlineData(Head.TokenClassification)]
    [InlineData(Head.MultipleChoice)]
    public void An_empty_file_is_refused(Head head)
    {
        var empty = File($"empty-{head}.jsonl", "", "  ");
        AssertRefused(() => FineTuningTask.Load(head, corpus.Tokenizer, empty, empty), $"empty-{head}.jsonl", "holds no example");
    }

    [Fact]
    public void A_model_directory_of_another_architecture_is_refused()
    {
        var dir = Path.Combine(_root, "bert");
        Directory.CreateDirectory(dir);
        System.IO.File.WriteAllText(Path.Combine(dir, "config.json"), """{"model_type": "bert", "architectures": ["BertForMaskedLM"]}""");
        var settings = new OptimizerSettings { LearningRate = 1e-3, TotalSteps = 1 };
        var e = Assert.Throws<ConfigException>(() => FineTuningReplica.Create(dir, new HeadSpec(Head.SequenceClassification, ["a", "b"]), 1, settings, Device.CPU));
        Assert.Contains("model_type 'bert' is not supported", e.Message);
    }

    [Fact]
    public void Token_labels_go_on_each_word_s_first_token_only()
    {
        Assert.Equal([-100, 3, -100, 5, -100], FeatureEncoder.WordLabels([null, 0, 0, 1, null], [3, 5]));
        var path = File("words.jsonl", """{"tokens": ["horses", "eat", "hay"], "tags": ["B-A", "O", "B-F"]}""");
        var task = FineTuningTask.Load(Head.TokenClassification, corpus.Tokenizer, path, path);
        var labels = task.Train[0].TokenLabels!;
        Assert.Equal(task.Train[0].Rows[0].Length, labels.Length);
        Assert.Equal(-100, labels[0]);   // <s>
        Assert.Equal(-100, labels[^1]);  // </s>
        Assert.Equal([0, 2, 1], labels.Where(l => l != -100));   // tags sorted: B-A, B-F, O
    }

    [Fact]
    public void QA_windows_point_at_the_answer_s_tokens_or_at_s_when_it_lies_outside()
    {
        var context = string.Join(" ", Enumerable.Range(0, 12).Select(i => $"the cat {i} eats milk.")) + " the dog eats bones.";
        var start = context.IndexOf("bones", StringComparison.Ordinal);
        var path = File("long.json", $$"""{"data": [{"paragraphs": [{"context": "{{context}}", "qas": [{"id": "q", "question": "what does the dog eat?", "answers": [{"text": "bones", "answer_start": {{start}}}]}]}]}]}""");
        var task = FineTuningTask.Load(Head.QuestionAnswering, corpus.Tokenizer, path, path, new TaskOptions { MaxLength = 40, DocStride = 8 });
        Assert.True(task.Train.Length > 2, $"{task.Train.Length} windows");
        Assert.All(task.Train, f => Assert.True(f.Rows[0].Length <= 40));
        var holding = task.Train.Where(f => f.StartPosition > 0).ToArray();
        Assert.NotEmpty(holding);
        Assert.Contains(task.Train, f => (f.StartPosition, f.EndPosition) == (0, 0));
        foreach (var f in holding)
        {
            var ids = f.Rows[0].InputIds[f.StartPosition..(f.EndPosition + 1)];
            Assert.Equal("bones", corpus.Tokenizer.Decode(ids).Trim());
            Assert.Equal(start, f.ContextOffsets![f.StartPosition]!.Value.Start);
        }
    }
}
