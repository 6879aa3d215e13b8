using Cluster.Model.Checkpoints;
using Cluster.Model.Tasks;
using Cluster.Testing;
using Cluster.Torch;
using Cluster.Torch.Distributed;
using Cluster.Training.Batching;
using Cluster.Training.Evaluation;
using Cluster.Training.FineTuning;

namespace Cluster.Training.Tests;

/// <summary>Fine-tuning each head on 2 workers (c10d Gloo, a thread each): every task learns well beyond its trivial
/// baseline; 2 workers × B give one worker's weights on 2B; a frozen encoder stays bit-identical and its saved head
/// loads back onto it; every saved model scores the same when loaded alone.</summary>
[Collection("corpus")]
public sealed class FineTuningTests : IDisposable
{
    const ulong Seed = 7;
    readonly TestCorpus _corpus;
    readonly Xunit.Abstractions.ITestOutputHelper _output;
    readonly string _root;
    readonly FineTuningTasks _tasks;

    public FineTuningTests(TestCorpus corpus, Xunit.Abstractions.ITestOutputHelper output)
    {
        (_corpus, _output) = (corpus, output);
        _root = Directory.CreateTempSubdirectory("cluster-finetune-").FullName;
        _tasks = new FineTuningTasks(Path.Combine(_root, "data"));
        BaseModel = FreshModel.Save(corpus.TinyConfig(), corpus.TokenizerDirectory, Path.Combine(_root, "base"), Seed);
    }

    /// <summary>A freshly initialised tiny RoBERTa (masked-LM head), saved as a model directory with its tokenizer.</summary>
    string BaseModel { get; }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    FineTuningTask Load(Head head) => FineTuningTask.Load(head, _corpus.Tokenizer, _tasks.Path(head, "train"), _tasks.Path(head, "eval"), new TaskOptions { MaxLength = 48, DocStride = 16 });

    Task<FineTuningHarness.Outcome> FineTuneAsync(Head head, int workers, int batch, long steps, int accumulation = 1, bool freeze = false, string? saveTo = null,
                                                  double learningRate = 3e-3, string? from = null, bool bf16 = false) =>
        FineTuningHarness.RunAsync(from ?? BaseModel, Load(head), workers, batch, steps, Seed, accumulation, freeze, saveTo, learningRate, _corpus.TokenizerDirectory, bf16);

    void Show(string what, FineTuningHarness.Outcome o) =>
        _output.WriteLine($"{what}: {string.Join(", ", o.Metrics.Select(kv => $"{kv.Key} {kv.Value:F4}"))}; loss {o.Steps[0].Loss:F3} → {o.Steps[^1].Loss:F3}");

    /// <summary>Loads a saved fine-tuned directory alone, re-evaluates it (labels from its config.json), and checks it
    /// scores what the run scored.</summary>
    void AssertRoundTrip(Head head, string saved, FineTuningHarness.Outcome o)
    {
        using var scope = torch.NewDisposeScope();
        using var model = TaskModel.FromPretrained(saved, head, out _);
        var labels = model.Config.id2label.OrderBy(kv => int.Parse(kv.Key)).Select(kv => kv.Value).ToArray();
        if (o.Task.Spec.Labels.Count > 0) Assert.Equal(o.Task.Spec.Labels, labels);
        var task = FineTuningTask.Load(head, _corpus.Tokenizer, _tasks.Path(head, "train"), _tasks.Path(head, "eval"),
            new TaskOptions { MaxLength = 48, DocStride = 16 }, o.Task.Spec.Labels.Count > 0 ? labels : null);
        var predictions = Path.Combine(_root, $"{head.Name()}-predictions.jsonl");
        var again = task.Evaluate(model, Device.CPU, 7, predictions);   // another batching: padding must not change a score
        foreach (var (name, value) in o.Metrics) Assert.True(Math.Abs(again[name] - value) < 1e-5, $"{name}: {value} in the run, {again[name]} reloaded");
        // The predictions written, scored against the evaluation file's labels by the test, give the reported metric.
        var (metric, fromFile) = _tasks.ScorePredictions(head, predictions);
        _output.WriteLine($"{metric} from {Path.GetFileName(predictions)}: {fromFile:F4}");
        Assert.Equal(again[metric], fromFile, 9);
    }

    [Fact]
    public async Task Sequence_classification_beats_the_majority_class()
    {
        var baseline = LiveTensors.Settled();
        var saved = Path.Combine(_root, "sequence-classification");
        var o = await FineTuneAsync(Head.SequenceClassification, workers: 2, batch: 8, steps: 90, saveTo: saved);
        Show("sequence classification", o);
        var majority = _tasks.MajorityAccuracy();
        _output.WriteLine($"majority class accuracy {majority:F4}");
        Assert.True(o.Metrics["eval_accuracy"] > majority + 0.3, $"accuracy {o.Metrics["eval_accuracy"]:F3}, majority {majority:F3}");
        Assert.Equal(["farm", "pet", "wild"], o.Task.Spec.Labels);
        AssertRoundTrip(Head.SequenceClassification, saved, o);
        AssertUnlabelledTestPredicts(saved, o);
        Assert.Equal(baseline, LiveTensors.Settled());
    }

    [Fact]
    public async Task Under_bf16_autocast_sequence_classification_learns_and_starts_within_bf16_rounding_of_float32()
    {
        var baseline = LiveTensors.Settled();
        // One step each, alike but for the precision: bf16 matrix products move the loss by rounding only, and do move
        // it (autocast was on; float32 on one worker is deterministic here).
        var float32 = await FineTuneAsync(Head.SequenceClassification, workers: 1, batch: 8, steps: 1);
        var first = await FineTuneAsync(Head.SequenceClassification, workers: 1, batch: 8, steps: 1, bf16: true);
        var (loss32, loss16) = (float32.Steps[0].Loss, first.Steps[0].Loss);
        _output.WriteLine($"first-step loss: float32 {loss32:F6}, bf16 {loss16:F6}");
        Assert.NotEqual(loss32, loss16);
        Assert.True(Math.Abs(loss16 - loss32) < 0.02 * loss32, $"first-step loss {loss16} under bf16 against {loss32} in float32");
        var o = await FineTuneAsync(Head.SequenceClassification, workers: 2, batch: 4, steps: 90, bf16: true);
        Show("sequence classification, bf16", o);
        var majority = _tasks.MajorityAccuracy();
        Assert.True(o.Metrics["eval_accuracy"] > majority + 0.3, $"accuracy {o.Metrics["eval_accuracy"]:F3}, majority {majority:F3}");
        Assert.Equal(baseline, LiveTensors.Settled());
    }

    /// <summary>A test file without labels (run_glue's test sets) is only predicted, and each prediction is the one the
    /// same rows get when labelled; a file with labels on some rows only is refused at the first row without.</summary>
    void AssertUnlabelledTestPredicts(string saved, FineTuningHarness.Outcome o)
    {
        using var scope = torch.NewDisposeScope();
        using var model = TaskModel.FromPretrained(saved, Head.SequenceClassification, out _);
        var labelled = _tasks.Path(Head.SequenceClassification, "eval");
        var lines = File.ReadAllLines(labelled);
        var unlabelled = Path.Combine(_root, "unlabelled.jsonl");
        File.WriteAllLines(unlabelled, lines.Select(l => System.Text.Json.JsonSerializer.Serialize(new { text = System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("text").GetString() })));
        var (withLabels, withoutLabels) = (Path.Combine(_root, "labelled-predictions.jsonl"), Path.Combine(_root, "unlabelled-predictions.jsonl"));
        o.Task.WithTest(labelled).Evaluate(model, Device.CPU, 16, withLabels);
        var test = o.Task.WithTest(unlabelled);
        Assert.False(test.Labelled);
        var metrics = test.Evaluate(model, Device.CPU, 16, withoutLabels);
        Assert.Equal(["eval_samples"], metrics.Keys);
        Assert.Equal(lines.Length, metrics["eval_samples"]);
        Assert.Equal(File.ReadAllLines(withLabels), File.ReadAllLines(withoutLabels));

        File.WriteAllLines(unlabelled, [lines[0], System.Text.Json.JsonSerializer.Serialize(new { text = "the dog sleeps." }), .. lines[1..]]);
        var e = Assert.Throws<FineTuningDataException>(() => o.Task.WithTest(unlabelled));
        Assert.Contains("line 2", e.Message);
        Assert.Contains("label", e.Message);
    }

    [Fact]
    public async Task Token_classification_beats_the_most_frequent_tag_per_word()
    {
        var saved = Path.Combine(_root, "token-classification");
        var o = await FineTuneAsync(Head.TokenClassification, workers: 2, batch: 8, steps: 120, saveTo: saved);
        Show("token classification", o);
        var (references, predictions) = _tasks.MostFrequentTagPerWord();
        var baseline = EntityMetrics.Compute(references, predictions).F1;
        _output.WriteLine($"most frequent tag per word: entity F1 {baseline:F4}");
        Assert.True(o.Metrics["eval_f1"] > baseline + 0.15, $"entity F1 {o.Metrics["eval_f1"]:F3}, baseline {baseline:F3}");
        AssertRoundTrip(Head.TokenClassification, saved, o);
    }

    [Fact]
    public async Task Question_answering_beats_the_first_sentence()
    {
        var saved = Path.Combine(_root, "question-answering");
        var o = await FineTuneAsync(Head.QuestionAnswering, workers: 2, batch: 8, steps: 150, saveTo: saved);
        Show("question answering", o);
        var (predictions, golds) = _tasks.FirstSentenceAnswers();
        var baseline = SquadMetrics.Compute(predictions, golds.Select(g => (IReadOnlyList<string>)g).ToArray());
        _output.WriteLine($"first sentence: exact match {baseline.ExactMatch:F2}, F1 {baseline.F1:F2}");
        Assert.True(o.Metrics["eval_f1"] > baseline.F1 + 30, $"F1 {o.Metrics["eval_f1"]:F1}, first sentence {baseline.F1:F1}");
        AssertRoundTrip(Head.QuestionAnswering, saved, o);
    }

    [Fact]
    public async Task Multiple_choice_beats_chance()
    {
        var saved = Path.Combine(_root, "multiple-choice");
        var o = await FineTuneAsync(Head.MultipleChoice, workers: 2, batch: 8, steps: 150, saveTo: saved);
        Show("multiple choice", o);
        Assert.True(o.Metrics["eval_accuracy"] > 0.25 + 0.4, $"accuracy {o.Metrics["eval_accuracy"]:F3}, chance 0.25");
        AssertRoundTrip(Head.MultipleChoice, saved, o);
    }

    [Theory]
    [InlineData(Head.SequenceClassification)]
    [InlineData(Head.TokenClassification)]   // the loss averages labelled tokens: over the group, not per worker
    [InlineData(Head.QuestionAnswering)]
    public async Task Two_workers_with_batch_B_give_the_weights_of_one_worker_with_batch_2B(Head head)
    {
        var single = await FineTuneAsync(head, workers: 1, batch: 8, steps: 4);
        var pair = await FineTuneAsync(head, workers: 2, batch: 4, steps: 4);
        var accumulated = await FineTuneAsync(head, workers: 2, batch: 2, steps: 4, accumulation: 2);
        foreach (var (what, run) in new[] { ("2 × 4", pair), ("2 × 2 × 2", accumulated) })
        {
            var (relative, worst) = DataParallelTrainingTests.Difference(WithGradients(head, run.Weights), WithGradients(head, single.Weights));
            _output.WriteLine($"{head.Name()} {what} against 1 × 8: relative L2 {relative:E2}, largest element difference {worst:E2}");
            Assert.True(relative < 1e-5 && worst < 1e-4, $"{what}: relative L2 {relative:E2}, largest {worst:E2}");
            for (var s = 0; s < 4; s++) Assert.Equal(single.Steps[s].Loss, run.Steps[s].Loss, 5);
            Assert.Equal(single.Steps.Select(s => s.MaskedTokens), run.Steps.Select(s => s.MaskedTokens));
        }
    }

    /// <summary>The tensors whose gradient is not zero in exact arithmetic. Question answering's start and end biases
    /// shift every position's logit alike, which a softmax over positions ignores, and so does the last LayerNorm's
    /// bias (it reaches the logits only through them): their gradients are rounding noise, which Adam scales up into
    /// updates that differ with how the batch is split.</summary>
    static Dictionary<string, float[]> WithGradients(Head head, Dictionary<string, float[]> weights) => head != Head.QuestionAnswering ? weights
        : weights.Where(kv => kv.Key != "qa_outputs.bias" && kv.Key != "roberta.encoder.layer.1.output.LayerNorm.bias").ToDictionary();

    [Fact]
    public async Task A_frozen_encoder_stays_bit_identical_and_its_head_loads_back_onto_it()
    {
        // The encoder: one fine-tuned whole on the task a moment ago (a random one's sentence vectors say too little).
        var encoderDirectory = Path.Combine(_root, "encoder");
        await FineTuneAsync(Head.SequenceClassification, workers: 1, batch: 16, steps: 45, saveTo: encoderDirectory);
        var saved = Path.Combine(_root, "frozen-head");
        var o = await FineTuneAsync(Head.SequenceClassification, workers: 2, batch: 8, steps: 45, freeze: true, saveTo: saved, from: encoderDirectory);
        Show("frozen encoder", o);
        using (var scope = torch.NewDisposeScope())
        {
            var original = SafeTensors.Load(Path.Combine(encoderDirectory, Pretrained.WeightsFile));
            var encoder = o.Weights.Keys.Where(k => k.StartsWith("roberta.", StringComparison.Ordinal)).ToArray();
            Assert.NotEmpty(encoder);
            foreach (var key in encoder)
                Assert.True(original[key].to(ScalarType.Float32).ToArray<float>().AsSpan().SequenceEqual(o.Weights[key]), $"{key} changed");
            // Only the head was written, and it is not where it started.
            var head = SafeTensors.Load(Path.Combine(saved, Pretrained.WeightsFile));
            Assert.All(head.Keys, k => Assert.StartsWith("classifier.", k));
            Assert.NotEmpty(head.Keys);
        }
        Assert.True(o.Metrics["eval_accuracy"] > _tasks.MajorityAccuracy() + 0.3, $"the head alone did not learn: {o.Metrics["eval_accuracy"]:F3}");
        AssertRoundTrip(Head.SequenceClassification, saved, o);

        // A head is refused on weights other than those it was trained on.
        var config = File.ReadAllText(Path.Combine(saved, Pretrained.ConfigFile));
        var reference = EncoderReference.For(encoderDirectory);
        File.WriteAllText(Path.Combine(saved, Pretrained.ConfigFile), config.Replace(reference.Sha256, new string('0', 64)));
        var e = Assert.Throws<CheckpointException>(() => TaskModel.FromPretrained(saved, Head.SequenceClassification, out _));
        Assert.Contains("trained on an encoder whose weights hash 000000000000", e.Message);
    }
}
