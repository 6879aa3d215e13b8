using Cluster.Model.Tasks;
using Cluster.Testing;
using Cluster.Torch;
using Cluster.Training.Evaluation;
using Cluster.Training.FineTuning;

namespace Cluster.Training.Tests;

/// <summary>RoCBert fine-tunes too: its features carry the shape and pronunciation ids its tokenizer gives (and BERT's
/// token types), and a tiny RoCBert on 2 workers learns sequence and token classification beyond their baselines.</summary>
public sealed class RoCBertFineTuningTests : IClassFixture<RoCBertCorpus>, IDisposable
{
    readonly RoCBertCorpus _corpus;
    readonly Xunit.Abstractions.ITestOutputHelper _output;
    readonly string _root;
    readonly FineTuningTasks _tasks;
    readonly string _model;

    public RoCBertFineTuningTests(RoCBertCorpus corpus, Xunit.Abstractions.ITestOutputHelper output)
    {
        (_corpus, _output) = (corpus, output);
        _root = Directory.CreateTempSubdirectory("cluster-rocbert-finetune-").FullName;
        _tasks = new FineTuningTasks(Path.Combine(_root, "data"));
        _model = FreshModel.Save(corpus.TinyConfig(), corpus.TokenizerDirectory, Path.Combine(_root, "base"), 5);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    FineTuningTask Load(Head head) => FineTuningTask.Load(head, _corpus.Tokenizer, _tasks.Path(head, "train"), _tasks.Path(head, "eval"), new TaskOptions { MaxLength = 48 });

    [Fact]
    public void Features_carry_the_tokenizer_s_shape_pronunciation_and_token_type_ids()
    {
        var task = Load(Head.MultipleChoice);
        var row = task.Train[0].Rows[0];
        var (context, endings) = _tasks.MultipleChoiceRow(0);
        var expected = _corpus.Tokenizer.Encode(context, endings[0]);
        Assert.Equal(expected.InputIds, row.InputIds);
        Assert.Equal(expected.InputShapeIds, row.ShapeIds);
        Assert.Equal(expected.InputPronunciationIds, row.PronunciationIds);
        Assert.Equal(expected.TokenTypeIds, row.TokenTypeIds);
        Assert.Contains(1, row.TokenTypeIds!);   // the ending is the second sequence
        var batch = task.Batch(task.Train[..3]);
        using var scope = torch.NewDisposeScope();
        var inputs = batch.ToTensors(Device.CPU);
        Assert.Equal(["input_ids", "attention_mask", "token_type_ids", "input_shape_ids", "input_pronunciation_ids"], inputs.Keys);
        Assert.Equal([3L, 4, batch.Length], inputs["input_shape_ids"].shape);
    }

    [Fact]
    public async Task RoCBert_learns_sequence_and_token_classification()
    {
        var classes = await FineTuningHarness.RunAsync(_model, Load(Head.SequenceClassification), workers: 2, batch: 8, steps: 90, seed: 5);
        _output.WriteLine($"sequence classification: accuracy {classes.Metrics["eval_accuracy"]:F4}, majority {_tasks.MajorityAccuracy():F4}");
        Assert.True(classes.Metrics["eval_accuracy"] > _tasks.MajorityAccuracy() + 0.3, $"accuracy {classes.Metrics["eval_accuracy"]:F3}");
        var tags = await FineTuningHarness.RunAsync(_model, Load(Head.TokenClassification), workers: 2, batch: 8, steps: 120, seed: 5);
        var (references, predictions) = _tasks.MostFrequentTagPerWord();
        var baseline = EntityMetrics.Compute(references, predictions).F1;
        _output.WriteLine($"token classification: entity F1 {tags.Metrics["eval_f1"]:F4}, most frequent tag per word {baseline:F4}");
        Assert.True(tags.Metrics["eval_f1"] > baseline + 0.15, $"entity F1 {tags.Metrics["eval_f1"]:F3}, baseline {baseline:F3}");
    }
}
