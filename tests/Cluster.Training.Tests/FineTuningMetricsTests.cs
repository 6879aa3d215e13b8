using Cluster.Model.Tokenization;
using Cluster.Training.Evaluation;
using Cluster.Training.FineTuning;

namespace Cluster.Training.Tests;

/// <summary>The evaluation metrics against values worked out by hand from the definitions of scikit-learn, scipy,
/// seqeval and the official SQuAD script (each case says how).</summary>
public sealed class FineTuningMetricsTests
{
    [Fact]
    public void Accuracy_and_macro_F1_average_over_the_classes_seen()
    {
        int[] references = [0, 0, 1, 1, 2], predictions = [0, 1, 1, 1, 0];
        Assert.Equal(0.6, ClassificationMetrics.Accuracy(references, predictions), 12);
        // class 0: P 1/2 R 1/2 F1 0.5; class 1: P 2/3 R 1 F1 0.8; class 2: never predicted, F1 0.
        Assert.Equal((0.5 + 0.8 + 0) / 3, ClassificationMetrics.MacroF1(references, predictions), 12);
    }

    [Fact]
    public void Multi_label_micro_F1_counts_every_label_decision()
    {
        bool[][] references = [[true, false], [true, true]], predictions = [[true, true], [false, true]];
        // tp 2, fp 1, fn 1: P = R = 2/3.
        Assert.Equal(2.0 / 3, ClassificationMetrics.MicroF1(references, predictions), 12);
        Assert.Equal(0, ClassificationMetrics.SubsetAccuracy(references, predictions));
    }

    [Fact]
    public void Pearson_and_Spearman_with_a_tie()
    {
        double[] x = [1, 2, 3, 4, 5], y = [5, 6, 7, 8, 7];
        // Σdxdy 6, Σdx² 10, Σdy² 5.2; ranks of y [1, 2, 3.5, 5, 3.5]: Σdxdy 8, Σdy² 9.5.
        Assert.Equal(6 / Math.Sqrt(52), RegressionMetrics.Pearson(x, y), 12);
        Assert.Equal(8 / Math.Sqrt(95), RegressionMetrics.Spearman(x, y), 12);
    }

    static IReadOnlyList<IReadOnlyList<string>> Sentences(params string[] sentences) =>
        sentences.Select(s => (IReadOnlyList<string>)s.Split(' ')).ToArray();

    [Fact]
    public void A_wrong_boundary_is_a_miss_and_a_false_alarm()
    {
        // seqeval's README example: the MISC entity starts one token early, PER is right.
        var s = EntityMetrics.Compute(Sentences("O O O B-MISC I-MISC I-MISC O", "B-PER I-PER O"),
                                      Sentences("O O B-MISC I-MISC I-MISC I-MISC O", "B-PER I-PER O"));
        Assert.Equal((0.5, 0.5, 0.5), (s.Precision, s.Recall, s.F1));
        // Token accuracy: positions 2 (O/B-MISC) and 3 (B-MISC/I-MISC) differ, 8 of 10 agree.
        Assert.Equal(8.0 / 10, s.Accuracy, 12);
    }

    [Fact]
    public void A_wrong_type_is_a_miss_and_a_false_alarm()
    {
        var s = EntityMetrics.Compute(Sentences("B-PER I-PER O B-LOC"), Sentences("B-ORG I-ORG O B-LOC"));
        Assert.Equal((0.5, 0.5, 0.5), (s.Precision, s.Recall, s.F1));
        Assert.Equal(0.5, s.Accuracy, 12);
    }

    [Fact]
    public void Entities_are_chunked_as_seqeval_does_by_default()
    {
        // An I- after O starts an entity; a change of type inside I- tags starts another; E-/S- tags end one.
        Assert.Equal(1.0, EntityMetrics.Compute(Sentences("O B-PER I-PER O"), Sentences("O I-PER I-PER O")).F1);
        Assert.Equal([new Entity(0, "PER", 0, 0), new Entity(0, "LOC", 1, 2)], EntityMetrics.Entities(["B-PER", "I-LOC", "I-LOC"]).ToArray());
        Assert.Equal([new Entity(0, "X", 0, 1), new Entity(0, "X", 2, 2)], EntityMetrics.Entities(["B-X", "E-X", "S-X"]).ToArray());
    }

    [Theory]
    [InlineData("The Eiffel Tower!", "eiffel tower")]
    [InlineData("  eiffel \t tower ", "Eiffel Tower")]
    [InlineData("a  (Eiffel) tower.", "an Eiffel tower")]
    public void Answers_differing_in_articles_punctuation_or_whitespace_match_exactly(string prediction, string gold)
    {
        // Lower case, punctuation deleted (not replaced: "Eiffel-tower" would read "eiffeltower"), a/an/the dropped,
        // whitespace collapsed.
        Assert.Equal(1, SquadMetrics.ExactMatch(prediction, gold));
        Assert.Equal(1, SquadMetrics.F1(prediction, gold), 12);
    }

    [Fact]
    public void SQuAD_F1_counts_shared_tokens_and_takes_the_best_gold()
    {
        // "big red dog" against "red dog": 2 shared, P 2/3, R 1.
        Assert.Equal(0.8, SquadMetrics.F1("the big red dog", "red dog"), 12);
        var s = SquadMetrics.Compute(["the big red dog", "", "paris"], [["red dog", "big red dog"], [], ["london"]]);
        // Best golds: 1 (exact), 1 (empty for unanswerable), 0.
        Assert.Equal((200.0 / 3, 200.0 / 3, 3), (s.ExactMatch, s.F1, s.Total));
    }

    static Feature Window(int example, params (int, int)?[] offsets) => new(example, []) { ContextOffsets = offsets };

    [Fact]
    public void The_best_span_respects_the_context_order_and_the_length_limit()
    {
        var example = new QuestionExample("q", "who?", "red dogs bark", []);
        // Tokens: <s> question </s> red dogs bark </s>; the context tokens are 3, 4, 5.
        var feature = Window(0, null, null, null, (0, 3), (4, 8), (9, 13), null);
        var start = new float[] { 0, 9, 0, 2, 5, 1, 0 };   // the question token scores highest but is not context
        var end = new float[] { 0, 0, 0, 1, 3, 4, 9 };
        Assert.Equal("dogs bark", AnswerSpans.Predict(example, [(feature, new FeatureScores(start, end))], withNoAnswer: false));
        Assert.Equal("dogs", AnswerSpans.Predict(example, [(feature, new FeatureScores(start, end))], withNoAnswer: false, maxAnswerLength: 1));
    }

    [Fact]
    public void No_answer_wins_when_the_null_score_beats_the_best_span_by_more_than_the_threshold()
    {
        var example = new QuestionExample("q", "who?", "red dogs", []);
        var feature = Window(0, null, null, (0, 3), (4, 8), null);
        var scores = new FeatureScores([3, 0, 2, 1, 0], [3, 0, 1, 2, 0]);
        // null 6; best span "red dogs" 2 + 2 = 4: the difference 2 passes threshold 0 but not 2.5.
        Assert.Equal("", AnswerSpans.Predict(example, [(feature, scores)], withNoAnswer: true));
        Assert.Equal("red dogs", AnswerSpans.Predict(example, [(feature, scores)], withNoAnswer: true, nullThreshold: 2.5));
        Assert.Equal("red dogs", AnswerSpans.Predict(example, [(feature, scores)], withNoAnswer: false));
    }

    [Fact]
    public void Answer_text_is_cut_in_code_points()
    {
        Assert.Equal("b😀c", CodePoints.Slice("a😀b😀c", 2, 5));
    }
}
