using System.Text.Json;
using Cluster.Model.Checkpoints;
using Cluster.Model.Tasks;
using Cluster.Testing;
using Cluster.Torch;
using Cluster.Training.FineTuning;
using Xunit;

namespace Cluster.Client.Tests;

/// <summary>`cluster finetune` as a user runs it: two in-process CPU workers fine-tune a saved model, evaluate during
/// and after training, keep the best model, write HF-named metrics; bad input is refused in one line before any job.</summary>
public sealed class FinetuneCommandTests : IClassFixture<TestCorpus>, IDisposable
{
    readonly TestCorpus _corpus;
    readonly string _root;
    readonly FineTuningTasks _tasks;
    readonly string _model;

    public FinetuneCommandTests(TestCorpus corpus)
    {
        _corpus = corpus;
        _root = Directory.CreateTempSubdirectory("cluster-finetune-cli-").FullName;
        _tasks = new FineTuningTasks(Path.Combine(_root, "data"));
        _model = FreshModel.Save(corpus.TinyConfig(), corpus.TokenizerDirectory, Path.Combine(_root, "pretrained"), 3);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    string Fresh(string name) => Path.Combine(_root, $"{name}-{Guid.NewGuid():N}");

    string[] Args(Head task, string output, params string[] more) =>
    [
        "finetune", "--task", task.Name(), "--model-dir", _model, "--train", _tasks.Path(task, "train"), "--eval", _tasks.Path(task, "eval"),
        "--workers", "2", "--batch-size", "8", "--max-length", "48", "--lr", "3e-3", "--out", output, .. more,
    ];

    [Fact]
    public async Task Two_workers_fine_tune_evaluate_keep_the_best_model_and_write_HF_named_metrics()
    {
        var output = Fresh("classifier");
        var metrics = Path.Combine(_root, "metrics.json");
        var run = await ClusterCli.RunAsync(Args(Head.SequenceClassification, output, "--epochs", "6", "--eval-every", "30",
            "--save-best", "eval_accuracy", "--test", _tasks.Path(Head.SequenceClassification, "eval"), "--metrics-out", metrics));
        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        Assert.Contains("labels farm, pet, wild", run.Stdout);
        Assert.Contains("eval at step 30:", run.Stdout);
        Assert.Contains("best eval_accuracy so far", run.Stdout);
        foreach (var file in new[] { "config.json", "model.safetensors", "vocab.json", "metrics.csv", "eval_results.json", "best/model.safetensors" })
            Assert.True(File.Exists(Path.Combine(output, file)), $"{file} is missing");
        using (var json = JsonDocument.Parse(File.ReadAllText(metrics)))
        {
            foreach (var key in new[] { "eval_loss", "eval_accuracy", "eval_f1", "test_accuracy", "train_loss", "train_samples_per_second" })
                Assert.True(json.RootElement.TryGetProperty(key, out _), $"{key} is missing from --metrics-out");
            var accuracy = json.RootElement.GetProperty("eval_accuracy").GetDouble();
            Assert.True(accuracy > _tasks.MajorityAccuracy() + 0.3, $"accuracy {accuracy}, majority {_tasks.MajorityAccuracy()}");
            Assert.Equal(accuracy, json.RootElement.GetProperty("test_accuracy").GetDouble()); // the same file
            // --test's predictions, one per example, scored by the test against the file's labels
            var (metric, fromFile) = _tasks.ScorePredictions(Head.SequenceClassification, Path.Combine(output, PredictionsFile.TestName));
            Assert.Equal("eval_accuracy", metric);
            Assert.Equal(accuracy, fromFile, 9);
        }
        var config = Pretrained.LoadConfig(output);
        Assert.Equal(new Dictionary<string, string> { ["0"] = "farm", ["1"] = "pet", ["2"] = "wild" }, config.id2label);
        Assert.Equal("single_label_classification", config.problem_type);
        using var model = TaskModel.FromPretrained(output, Head.SequenceClassification, out var loaded);
        Assert.Empty(loaded.missing_keys);
    }

    [Fact]
    public async Task A_frozen_encoder_run_saves_the_head_alone()
    {
        var output = Fresh("frozen");
        var run = await ClusterCli.RunAsync(Args(Head.MultipleChoice, output, "--max-steps", "4", "--freeze-encoder"));
        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        using (var scope = torch.NewDisposeScope())
        {
            // The head, and the pooler it runs on (the masked-LM encoder has none: it was initialised with the head).
            var keys = SafeTensors.Load(Path.Combine(output, Pretrained.WeightsFile)).Keys.Order().ToList();
            Assert.Equal(["classifier.bias", "classifier.weight", "roberta.pooler.dense.bias", "roberta.pooler.dense.weight"], keys);
        }
        Assert.Contains(EncoderReference.ConfigKey, File.ReadAllText(Path.Combine(output, Pretrained.ConfigFile)));
        using var model = TaskModel.FromPretrained(output, Head.MultipleChoice, out _);
    }

    [Fact]
    public async Task A_job_resumes_from_its_checkpoint()
    {
        var output = Fresh("resumed");
        var first = await ClusterCli.RunAsync(Args(Head.TokenClassification, output, "--max-steps", "4", "--checkpoint-every", "2"));
        Assert.True(first.ExitCode == 0, first.Stderr + first.Stdout);
        var resumed = await ClusterCli.RunAsync(Args(Head.TokenClassification, output, "--max-steps", "6", "--resume"));
        Assert.True(resumed.ExitCode == 0, resumed.Stderr + resumed.Stdout);
        Assert.Contains("resuming from", resumed.Stdout);
        Assert.Contains("resumed at step 4", resumed.Stdout);
        Assert.Equal(7, File.ReadAllLines(Path.Combine(output, "metrics.csv")).Length);
        Assert.Contains("eval_f1", File.ReadAllText(Path.Combine(output, "eval_results.json")));
    }

    [Fact]
    public async Task Bad_input_is_refused_in_one_line_before_any_job_starts()
    {
        string Write(string name, string text)
        {
            var path = Path.Combine(_root, name);
            File.WriteAllText(path, text);
            return path;
        }
        var bert = Path.Combine(_root, "bert");
        Directory.CreateDirectory(bert);
        File.WriteAllText(Path.Combine(bert, "config.json"), """{"model_type": "bert"}""");
        var squad = Write("bad-squad.json", """{"data": [{"paragraphs": [{"context": "the cat eats milk", "qas": [{"id": "q", "question": "what?", "answers": [{"text": "milk", "answer_start": 3}]}]}]}]}""");
        var train = _tasks.Path(Head.SequenceClassification, "train");
        var cases = new (string Expected, string[] Args)[]
        {
            ("model_type 'bert' is not supported", ["finetune", "--task", "sequence-classification", "--model-dir", bert, "--train", train, "--eval", train]),
            ("bad-squad.json: data[0].paragraphs[0].qas[0].answers[0]: answer_start", Args(Head.QuestionAnswering, Fresh("qa"), "--doc-stride", "16").Select(a => a == _tasks.Path(Head.QuestionAnswering, "train") ? squad : a).ToArray()),
            ("empty.jsonl: line 1: the file holds no example", Args(Head.TokenClassification, Fresh("ner")).Select(a => a == _tasks.Path(Head.TokenClassification, "eval") ? Write("empty.jsonl", "\n") : a).ToArray()),
            ("line 2: label: 'meh' is not among the training labels", Args(Head.SequenceClassification, Fresh("cls")).Select(a => a == _tasks.Path(Head.SequenceClassification, "eval") ? Write("meh.jsonl", "{\"text\": \"a\", \"label\": \"pet\"}\n{\"text\": \"b\", \"label\": \"meh\"}\n") : a).ToArray()),
            ("--doc-stride 128 must be at least 0 and leave room for a question within --max-length 48", Args(Head.QuestionAnswering, Fresh("stride"))),
            ("--save-best accuracy: name an evaluation metric", Args(Head.SequenceClassification, Fresh("best"), "--save-best", "accuracy")),
        };
        foreach (var (expected, args) in cases)
        {
            var output = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault() ?? Path.Combine(_root, "out");
            var result = await ClusterCli.RunAsync(args.Contains("--out") ? args : [.. args, "--out", output]);
            Assert.True(result.ExitCode == 1, $"{expected}: exit {result.ExitCode} {result.Stderr}{result.Stdout}");
            var line = Assert.Single(result.Stderr.Trim().Split('\n'), l => l.StartsWith("cluster: ", StringComparison.Ordinal));
            Assert.Contains(expected, line);
            Assert.DoesNotContain("job finetune-", result.Stdout); // refused before a job was submitted
            Assert.False(Directory.Exists(output), $"{expected}: {output} was created");
        }
    }
}
