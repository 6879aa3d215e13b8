using Cluster.Model.Tokenization;

namespace Cluster.Training.FineTuning;

/// <summary>
/// Turns examples into model rows as Hugging Face's example scripts do: truncation to <c>maxLength</c>; for token
/// classification the tag on each word's first sub-token and -100 on the rest and on special tokens (run_ner's
/// default); for question answering (question, context) windows of the context with <c>docStride</c> tokens shared,
/// the answer mapped to tokens through the offsets, and a window without the whole answer pointed at <c>&lt;s&gt;</c>
/// (run_qa's prepare_train_features); for multiple choice one (context, ending) pair per ending (run_swag).
/// </summary>
public sealed class FeatureEncoder(Tokenizer tokenizer, int maxLength, int docStride = 128)
{
    public const int IgnoreIndex = -100;

    public Tokenizer Tokenizer { get; } = tokenizer;

    EncodeOptions Truncating(TruncationStrategy strategy = TruncationStrategy.LongestFirst, bool windows = false) =>
        new() { MaxLength = maxLength, Truncation = strategy, Stride = windows ? docStride : 0, ReturnOverflowingTokens = windows };

    EncodedRow Row(TokenEncoding e) => new(e.InputIds, Tokenizer.ReturnsTokenTypeIds ? e.TokenTypeIds : null, e.InputShapeIds, e.InputPronunciationIds);

    public Feature[] SequenceClassification(IReadOnlyList<TextExample> examples, LabelSet labels) => examples.Select((x, i) =>
        new Feature(i, [Row(Tokenizer.Encode(x.Text, x.Pair, Truncating()))])
        {
            ClassId = x.ClassId,
            Targets = labels.Problem switch
            {
                ProblemType.Regression => [(float)x.Target],
                ProblemType.MultiLabel => Enumerable.Range(0, labels.Count).Select(c => x.LabelIds.Contains(c) ? 1f : 0f).ToArray(),
                _ => null,
            },
        }).ToArray();

    public Feature[] TokenClassification(IReadOnlyList<WordsExample> examples) => examples.Select((x, i) =>
    {
        var e = Tokenizer.EncodeWords(x.Words, options: Truncating());
        return new Feature(i, [Row(e)]) { TokenLabels = WordLabels(e.WordIds, x.TagIds) };
    }).ToArray();

    /// <summary>The tag of each word on its first token; -100 on later tokens of a word and on special tokens.</summary>
    public static int[] WordLabels(IReadOnlyList<int?> wordIds, IReadOnlyList<int> tagIds)
    {
        var labels = new int[wordIds.Count];
        int? previous = null;
        for (var t = 0; t < labels.Length; t++)
        {
            labels[t] = wordIds[t] is { } w && w != previous ? tagIds[w] : IgnoreIndex;
            previous = wordIds[t];
        }
        return labels;
    }

    public Feature[] QuestionAnswering(IReadOnlyList<QuestionExample> examples)
    {
        var features = new List<Feature>();
        for (var i = 0; i < examples.Count; i++)
        {
            var x = examples[i];
            var first = Tokenizer.Encode(x.Question.TrimStart(), x.Context, Truncating(TruncationStrategy.OnlySecond, windows: true));
            foreach (var window in new[] { first }.Concat(first.Overflowing))
            {
                var offsets = window.SequenceIds.Select((s, t) => s == 1 ? window.Offsets[t] : ((int, int)?)null).ToArray();
                var (start, end) = x.Answers.Length == 0 ? (0, 0) : Span(offsets, x.Answers[0]);
                features.Add(new Feature(i, [Row(window)]) { StartPosition = start, EndPosition = end, ContextOffsets = offsets });
            }
        }
        return features.ToArray();
    }

    /// <summary>The answer's first and last token in a window, or (0, 0) where the window does not hold all of it.</summary>
    static (int Start, int End) Span((int Start, int End)?[] offsets, Answer answer)
    {
        var context = Enumerable.Range(0, offsets.Length).Where(t => offsets[t] is not null).ToArray();
        if (context.Length == 0) return (0, 0);
        var (firstToken, lastToken) = (context[0], context[^1]);
        if (offsets[firstToken]!.Value.Start > answer.Start || offsets[lastToken]!.Value.End < answer.End) return (0, 0);
        var start = firstToken;
        while (start <= lastToken && offsets[start]!.Value.Start <= answer.Start) start++;
        var end = lastToken;
        while (end >= firstToken && offsets[end]!.Value.End >= answer.End) end--;
        return (start - 1, end + 1);
    }

    public Feature[] MultipleChoice(IReadOnlyList<ChoiceExample> examples) => examples.Select((x, i) =>
        new Feature(i, x.Endings.Select(ending => Row(Tokenizer.Encode(x.Context, ending, Truncating(TruncationStrategy.OnlyFirst)))).ToArray())
        {
            ClassId = x.Label,
        }).ToArray();
}
