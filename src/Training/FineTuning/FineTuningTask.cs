using System.Text.Json.Nodes;
using Cluster.Model.Tasks;
using Cluster.Model.Tokenization;
using Cluster.Torch;
using Cluster.Training.Evaluation;

namespace Cluster.Training.FineTuning;

/// <summary>How a task's files are turned into features and its predictions into answers.</summary>
public sealed record TaskOptions
{
    public int MaxLength { get; init; } = 128;
    /// <summary>Question answering: tokens two windows of a long context share (run_qa's doc_stride).</summary>
    public int DocStride { get; init; } = 128;
    /// <summary>Sequence classification: single-label, multi-label or regression; null: read from the labels.</summary>
    public ProblemType? Problem { get; init; }
    /// <summary>Sequence classification with integer labels: the class count ids must fall below (null: the largest
    /// training id + 1).</summary>
    public int? NumLabels { get; init; }
    public int MaxAnswerLength { get; init; } = 30;
    public int NBest { get; init; } = 20;
    /// <summary>SQuAD v2: how much the null score must beat the best span's by for the answer to be empty.</summary>
    public double NullThreshold { get; init; }
}

/// <summary>
/// One fine-tuning task, read and checked before any worker starts: the head and its labels (from the training file),
/// the training features and the evaluation set, each encoded as the Hugging Face example script for the task encodes
/// it. <see cref="Evaluate"/> scores a replica on the evaluation set with the metrics that script reports, under its
/// names (<c>eval_accuracy</c>, <c>eval_f1</c>, <c>eval_exact_match</c>, …) and with <c>eval_loss</c>.
/// </summary>
public sealed class FineTuningTask
{
    /// <summary>An evaluation file's metrics, and each example's prediction as a JSON object (in file order).</summary>
    sealed record Scored(Dictionary<string, double> Metrics, IReadOnlyList<JsonObject> Predictions);

    /// <summary>An evaluation file encoded, with how its scores become metrics and predictions; without labels (a test
    /// file of sequence classification may have none), predictions only.</summary>
    sealed record EvaluationSet(Feature[] Features, int Examples, Func<IReadOnlyList<FeatureScores>, Scored> Score, bool Labelled = true);

    /// <summary>Reads and encodes a file; the flag says it is a test file (which may lack labels where the task allows).</summary>
    readonly Func<string, bool, EvaluationSet> _readEvaluation;
    readonly EvaluationSet _eval;

    FineTuningTask(HeadSpec spec, Tokenizer tokenizer, Feature[] train, Func<string, bool, EvaluationSet> readEvaluation, string evalPath, int padTo = 0,
                   bool test = false)
    {
        (Spec, Tokenizer, Train, _readEvaluation, PadTo) = (spec, tokenizer, train, readEvaluation, padTo);
        _eval = readEvaluation(evalPath, test);
    }

    public HeadSpec Spec { get; }
    public Tokenizer Tokenizer { get; }
    public Feature[] Train { get; }
    public Feature[] Eval => _eval.Features;
    /// <summary>Evaluation examples (question answering has more features than examples).</summary>
    public int EvalExamples => _eval.Examples;
    /// <summary>The length every batch is padded to at least (question answering: the max length; else 0, the longest row).</summary>
    public int PadTo { get; }

    /// <summary>A batch of these features, padded as the task pads.</summary>
    public FineTuningBatch Batch(IReadOnlyList<Feature> features) => FineTuningBatch.Build(Spec.Head, features, Tokenizer.PadTokenId, PadTo);

    /// <summary>The same task (labels, training features) scored on another labelled file: a test set.</summary>
    public FineTuningTask WithEvaluation(string path) => new(Spec, Tokenizer, Train, _readEvaluation, path, PadTo);

    /// <summary>The same task on a test file: labelled, or for sequence classification also without any label (run_glue's
    /// test sets), then only predicted.</summary>
    public FineTuningTask WithTest(string path) => new(Spec, Tokenizer, Train, _readEvaluation, path, PadTo, test: true);

    /// <summary>False for a test file without labels: <see cref="Evaluate"/> then only predicts.</summary>
    public bool Labelled => _eval.Labelled;

    /// <param name="knownLabels">the model's own labels when it already carries a head with names (they are kept)</param>
    public static FineTuningTask Load(Head head, Tokenizer tokenizer, string trainPath, string evalPath, TaskOptions? options = null,
                                      IReadOnlyList<string>? knownLabels = null)
    {
        var o = options ?? new TaskOptions();
        switch (head)
        {
            case Head.SequenceClassification:
            {
                var encoder = new FeatureEncoder(tokenizer, o.MaxLength);
                var (labels, train) = SequenceClassificationData.ReadTraining(trainPath, o.Problem, knownLabels, o.NumLabels);
                return new FineTuningTask(new HeadSpec(head, labels.Names, labels.Problem), tokenizer, encoder.SequenceClassification(train, labels), (path, test) =>
                {
                    var (eval, labelled) = test ? SequenceClassificationData.ReadTest(path, labels) : (SequenceClassificationData.ReadEvaluation(path, labels), true);
                    return new EvaluationSet(encoder.SequenceClassification(eval, labels), eval.Length, scores => SequenceClassificationScores(labels, eval, scores, labelled), labelled);
                }, evalPath);
            }
            case Head.TokenClassification:
            {
                // run_ner loads RoBERTa's tokenizer with add_prefix_space=True: pre-split words need it.
                if (tokenizer is RobertaTokenizer roberta) tokenizer = roberta.WithPrefixSpace();
                var encoder = new FeatureEncoder(tokenizer, o.MaxLength);
                var (tags, train) = TokenClassificationData.ReadTraining(trainPath, knownLabels);
                return new FineTuningTask(new HeadSpec(head, tags), tokenizer, encoder.TokenClassification(train), (path, _) =>
                {
                    var eval = encoder.TokenClassification(TokenClassificationData.ReadEvaluation(path, tags));
                    return new EvaluationSet(eval, eval.Length, scores => EntityScores(tags, eval, scores));
                }, evalPath);
            }
            case Head.QuestionAnswering:
            {
                var encoder = new FeatureEncoder(tokenizer, o.MaxLength, o.DocStride);
                var train = QuestionAnsweringData.Read(trainPath);
                return new FineTuningTask(new HeadSpec(head, []), tokenizer, encoder.QuestionAnswering(train), (path, _) =>
                {
                    var eval = QuestionAnsweringData.Read(path);
                    var withNoAnswer = train.Concat(eval).Any(x => x.Answers.Length == 0);
                    var features = encoder.QuestionAnswering(eval);
                    return new EvaluationSet(features, eval.Length, scores => SquadScores(eval, features, scores, withNoAnswer, o));
                }, evalPath, padTo: o.MaxLength);
            }
            case Head.MultipleChoice:
            {
                var encoder = new FeatureEncoder(tokenizer, o.MaxLength);
                var train = MultipleChoiceData.Read(trainPath);
                return new FineTuningTask(new HeadSpec(head, []), tokenizer, encoder.MultipleChoice(train), (path, _) =>
                {
                    var eval = MultipleChoiceData.Read(path, train[0].Endings.Length);
                    return new EvaluationSet(encoder.MultipleChoice(eval), eval.Length, scores =>
                    {
                        var chosen = scores.Select(s => ArgMax(s.Logits)).ToArray();
                        return new Scored(new() { ["eval_accuracy"] = ClassificationMetrics.Accuracy(eval.Select(x => x.Label).ToArray(), chosen) },
                                          chosen.Select((c, i) => Prediction(i, c)).ToArray());
                    });
                }, evalPath);
            }
            default:
                throw new ArgumentException($"{head.Name()} is not a fine-tuning task (known: {string.Join(", ", HeadSpec.Tasks.Select(t => t.Name()))})");
        }
    }

    /// <summary>Runs the evaluation set through <paramref name="replica"/> in batches of <paramref name="batchSize"/>
    /// features, and scores it. On the replica's thread. With <paramref name="predictionsFile"/>, each example's
    /// prediction is written there too, one JSON object a line (<see cref="PredictionsFile"/>).</summary>
    public Dictionary<string, double> Evaluate(FineTuningReplica replica, int batchSize, string? predictionsFile = null)
        => Evaluate(replica.Model, replica.Device, batchSize, predictionsFile);

    /// <summary>Scores a model loaded on its own (a saved fine-tuned directory) the same way.</summary>
    public Dictionary<string, double> Evaluate(TaskModel model, Device device, int batchSize, string? predictionsFile = null)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "an evaluation batch needs a feature");
        var scores = new List<FeatureScores>(Eval.Length);
        double lossSum = 0;
        long items = 0;
        foreach (var chunk in Eval.Chunk(batchSize))
        {
            var (batchScores, loss, n) = FineTuningHead.Predict(model, Spec, Batch(chunk), device, withLoss: _eval.Labelled);
            scores.AddRange(batchScores);
            (lossSum, items) = (lossSum + loss, items + n);
        }
        var scored = _eval.Score(scores);
        var metrics = _eval.Labelled ? new Dictionary<string, double> { ["eval_loss"] = items > 0 ? lossSum / items : double.NaN } : [];
        foreach (var (name, value) in scored.Metrics) metrics[name] = value;
        metrics["eval_samples"] = EvalExamples;
        if (predictionsFile is not null) PredictionsFile.Write(predictionsFile, scored.Predictions);
        return metrics;
    }

    /// <summary>One example's prediction: its place in the file and what the model answers (a label name, names, a
    /// number, tags, an answer's text or an ending's index).</summary>
    static JsonObject Prediction(int index, JsonNode? prediction) => new() { ["index"] = index, ["prediction"] = prediction };

    static Scored SequenceClassificationScores(LabelSet labels, TextExample[] eval, IReadOnlyList<FeatureScores> scores, bool labelled)
    {
        if (!labelled) return new Scored([], SequenceClassificationPredictions(labels, scores));
        switch (labels.Problem)
        {
            case ProblemType.Regression:
                var (truth, predicted) = (eval.Select(x => x.Target).ToArray(), scores.Select(s => (double)s.Logits[0]).ToArray());
                var (pearson, spearman) = (RegressionMetrics.Pearson(predicted, truth), RegressionMetrics.Spearman(predicted, truth));
                return new Scored(new()
                {
                    ["eval_pearson"] = pearson, ["eval_spearmanr"] = spearman, ["eval_combined_score"] = (pearson + spearman) / 2,
                    ["eval_mse"] = truth.Zip(predicted, (t, p) => (t - p) * (t - p)).Average(),
                }, SequenceClassificationPredictions(labels, scores));
            case ProblemType.MultiLabel:
                // A label is predicted where its sigmoid passes 0.5: where its logit is positive.
                var references = eval.Select(x => Enumerable.Range(0, labels.Count).Select(c => x.LabelIds.Contains(c)).ToArray()).ToArray();
                var predictions = scores.Select(PositiveLabels).ToArray();
                return new Scored(new()
                {
                    ["eval_f1"] = ClassificationMetrics.MicroF1(references, predictions),
                    ["eval_accuracy"] = ClassificationMetrics.SubsetAccuracy(references, predictions),
                }, SequenceClassificationPredictions(labels, scores));
            default:
                var (refs, preds) = (eval.Select(x => x.ClassId).ToArray(), scores.Select(s => ArgMax(s.Logits)).ToArray());
                var accuracy = ClassificationMetrics.Accuracy(refs, preds);
                return new Scored(new() { ["eval_accuracy"] = accuracy, ["eval_f1"] = ClassificationMetrics.MacroF1(refs, preds), ["eval_f1_micro"] = accuracy },
                                  SequenceClassificationPredictions(labels, scores));
        }
    }

    /// <summary>Each example's predicted class name, the names whose sigmoid passes 0.5 (multi-label), or the number
    /// (regression).</summary>
    static JsonObject[] SequenceClassificationPredictions(LabelSet labels, IReadOnlyList<FeatureScores> scores) => scores.Select((s, i) =>
    {
        JsonNode? prediction = labels.Problem switch
        {
            ProblemType.Regression => JsonValue.Create((double)s.Logits[0]),
            ProblemType.MultiLabel => new JsonArray(labels.Names.Zip(PositiveLabels(s)).Where(p => p.Second).Select(p => (JsonNode?)p.First).ToArray()),
            _ => JsonValue.Create(labels.Names[ArgMax(s.Logits)]),
        };
        return Prediction(i, prediction);
    }).ToArray();

    static bool[] PositiveLabels(FeatureScores s) => s.Logits.Select(l => l > 0).ToArray();

    /// <summary>run_ner's compute_metrics: the tags of labelled tokens only (each word's first token, within the
    /// truncated row), scored by seqeval.</summary>
    static Scored EntityScores(IReadOnlyList<string> tags, Feature[] eval, IReadOnlyList<FeatureScores> scores)
    {
        var (references, predictions) = (new List<IReadOnlyList<string>>(), new List<IReadOnlyList<string>>());
        for (var i = 0; i < eval.Length; i++)
        {
            var labels = eval[i].TokenLabels!;
            var (truth, predicted) = (new List<string>(), new List<string>());
            for (var t = 0; t < labels.Length; t++)
            {
                if (labels[t] == FeatureEncoder.IgnoreIndex) continue;
                truth.Add(tags[labels[t]]);
                predicted.Add(tags[ArgMax(scores[i].Logits.AsSpan(t * tags.Count, tags.Count))]);
            }
            references.Add(truth);
            predictions.Add(predicted);
        }
        var s = EntityMetrics.Compute(references, predictions);
        return new Scored(new() { ["eval_precision"] = s.Precision, ["eval_recall"] = s.Recall, ["eval_f1"] = s.F1, ["eval_accuracy"] = s.Accuracy },
                          predictions.Select((p, i) => Prediction(i, new JsonArray(p.Select(t => (JsonNode?)t).ToArray()))).ToArray());
    }

    static Scored SquadScores(QuestionExample[] eval, Feature[] features, IReadOnlyList<FeatureScores> scores, bool withNoAnswer, TaskOptions o)
    {
        var windows = features.Zip(scores).GroupBy(p => p.First.Example).ToDictionary(g => g.Key, g => g.ToArray());
        var answers = eval.Select((x, i) => AnswerSpans.Predict(x, windows[i], withNoAnswer, o.NBest, o.MaxAnswerLength, o.NullThreshold)).ToArray();
        var s = SquadMetrics.Compute(answers, eval.Select(x => (IReadOnlyList<string>)x.Answers.Select(a => a.Text).ToArray()).ToArray());
        return new Scored(new() { ["eval_exact_match"] = s.ExactMatch, ["eval_f1"] = s.F1 },
                          answers.Select((a, i) => new JsonObject { ["index"] = i, ["id"] = eval[i].Id, ["prediction"] = a }).ToArray());
    }

    static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
