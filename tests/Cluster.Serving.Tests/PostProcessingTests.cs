using System.Text.Json.Nodes;
using Cluster.Model.Configuration;
using Cluster.Model.Tokenization;
using Cluster.Serving.Pipelines;
using Cluster.Serving.Replica;

namespace Cluster.Serving.Tests;

/// <summary>Token-classification aggregation and QA span decoding on logits chosen by hand, against answers worked out
/// by hand in Hugging Face's conventions (transformers 4.37's token_classification.py and question_answering.py).</summary>
public sealed class PostProcessingTests : IClassFixture<ServingModelsFixture>
{
    static readonly string[] Tags = ServingModels.Tags; // O, B-AGENT, I-AGENT, B-PATIENT, B-LOC
    readonly Tokenizer _tokenizer;
    readonly PretrainedConfig _config;

    public PostProcessingTests(ServingModelsFixture fixture)
    {
        _tokenizer = fixture.Models.Tokenizer;
        _config = fixture.Models.Config(Tags.Length);
        _config.id2label = Tags.Select((t, i) => (t, i)).ToDictionary(x => x.i.ToString(), x => x.t);
    }

    // "fishthe" is not in the vocabulary: it splits into "Ġfish" and "the", a subword (no space before it).
    const string Sentence = "the cat dog chases a fishthe";

    /// <summary>Per token, the logit <c>strength</c> on one tag and 0 on the others.</summary>
    (TokenEncoding encoding, float[] logits) Logits(params (string token, string tag, float strength)[] plan)
    {
        var encoding = _tokenizer.Encode(Sentence);
        Assert.Equal(["<s>", .. plan.Select(p => p.token), "</s>"], encoding.InputIds.Select(id => _tokenizer.IdToToken(id)!));
        var logits = new float[encoding.Length * Tags.Length];
        for (var i = 0; i < plan.Length; i++) logits[(i + 1) * Tags.Length + Array.IndexOf(Tags, plan[i].tag)] = plan[i].strength;
        return (encoding, logits);
    }

    /// <summary>softmax of (s, 0, 0, 0, 0): the chosen tag's probability, and each other's.</summary>
    static double Chosen(double s) => Math.Exp(s) / (Math.Exp(s) + 4);
    static double Other(double s) => 1 / (Math.Exp(s) + 4);

    List<(string label, double score, string word, int start, int end)> Run(string strategy)
    {
        var (encoding, logits) = Logits(("the", "O", 2), ("Ġcat", "B-AGENT", 2), ("Ġdog", "I-AGENT", 3), ("Ġchases", "O", 2), ("Ġa", "O", 2),
            ("Ġfish", "B-PATIENT", 2), ("the", "I-AGENT", 1));
        return TokenClassificationPipeline.Entities(Sentence, encoding, logits, strategy, _config, _tokenizer)
            .Where(e => e.Label != "O").Select(e => (e.Label, (double)e.Score, e.Word, e.Start, e.End)).ToList();
    }

    static void Same(List<(string label, double score, string word, int start, int end)> expected, List<(string label, double score, string word, int start, int end)> actual)
    {
        Assert.Equal(expected.Select(e => (e.label, e.word, e.start, e.end)), actual.Select(e => (e.label, e.word, e.start, e.end)));
        for (var i = 0; i < expected.Count; i++) Assert.Equal(expected[i].score, actual[i].score, 1e-6);
    }

    [Fact]
    public void None_keeps_each_token_with_its_raw_text()
    {
        Same([("B-AGENT", Chosen(2), "Ġcat", 4, 7), ("I-AGENT", Chosen(3), "Ġdog", 8, 11), ("B-PATIENT", Chosen(2), "Ġfish", 21, 25), ("I-AGENT", Chosen(1), "the", 25, 28)],
            Run("none"));
    }

    [Fact]
    public void Simple_groups_adjacent_tokens_of_one_entity_and_splits_words_that_disagree()
    {
        // B-AGENT + I-AGENT join (mean score); the subword "the" tagged I-AGENT after a PATIENT starts its own group.
        Same([("AGENT", (Chosen(2) + Chosen(3)) / 2, " cat dog", 4, 11), ("PATIENT", Chosen(2), " fish", 21, 25), ("AGENT", Chosen(1), "the", 25, 28)],
            Run("simple"));
    }

    [Fact]
    public void First_max_and_average_make_the_tokens_of_a_word_agree()
    {
        var agent = ("AGENT", (Chosen(2) + Chosen(3)) / 2, " cat dog", 4, 11);
        Same([agent, ("PATIENT", Chosen(2), " fishthe", 21, 28)], Run("first"));
        Same([agent, ("PATIENT", Chosen(2), " fishthe", 21, 28)], Run("max")); // "Ġfish" (2) beats "the" (1)
        // average: B-PATIENT (Chosen(2) + Other(1)) / 2 beats I-AGENT (Other(2) + Chosen(1)) / 2.
        Same([agent, ("PATIENT", (Chosen(2) + Other(1)) / 2, " fishthe", 21, 28)], Run("average"));
    }

    const string Question = "what does the cat eat?";

    (List<TokenEncoding> windows, float[] start, float[] end) Span(string context, string startToken, string endToken, int nth = 0)
    {
        var e = _tokenizer.Encode(Question, context);
        var contextTokens = Enumerable.Range(0, e.Length).Where(t => e.SequenceIds[t] == 1).ToList();
        int Find(string token) => contextTokens.Where(t => _tokenizer.IdToToken(e.InputIds[t]) == token).ElementAt(nth);
        var (start, end) = (new float[e.Length], new float[e.Length]);
        start[Find(startToken)] = 10;
        end[Find(endToken)] = 10;
        return ([e], start, end);
    }

    static JsonNode Answer(string context, (List<TokenEncoding> windows, float[] start, float[] end) span, bool impossible = false, bool align = true) =>
        QuestionAnsweringPipeline.Answer(context, span.windows, [new RowOutput([.. span.start, .. span.end])], 1, 15, impossible, align);

    [Fact]
    public void The_best_span_becomes_the_context_text_between_its_offsets()
    {
        const string context = "the cat eats milk. the dog eats bones.";
        var answer = Answer(context, Span(context, "Ġmilk", "Ġmilk"));
        Assert.Equal("milk", (string)answer["answer"]!);
        Assert.Equal((13, 17), ((int)answer["start"]!, (int)answer["end"]!));
        var n = _tokenizer.Encode(Question, context).SequenceIds.Count(s => s == 1) + 1; // context tokens and <s>
        var p = Math.Exp(10) / (Math.Exp(10) + n - 1);
        Assert.Equal(p * p, (double)answer["score"]!, 1e-6);

        var spanning = Answer(context, Span(context, "Ġdog", "Ġbones"));
        Assert.Equal("dog eats bones", (string)spanning["answer"]!);
    }

    [Fact]
    public void Aligning_to_words_widens_a_subword_span_to_its_word()
    {
        const string context = "the fishthe eats milk.";
        Assert.Equal("fishthe", (string)Answer(context, Span(context, "the", "the", nth: 1))["answer"]!);
        Assert.Equal("the", (string)Answer(context, Span(context, "the", "the", nth: 1), align: false)["answer"]!);
    }

    [Fact]
    public void The_empty_answer_wins_when_the_first_token_outscores_every_span()
    {
        const string context = "the cat eats milk.";
        var span = Span(context, "Ġmilk", "Ġmilk");
        span.start[0] = span.end[0] = 30;
        var answer = Answer(context, span, impossible: true);
        Assert.Equal("", (string)answer["answer"]!);
        Assert.Equal((0, 0), ((int)answer["start"]!, (int)answer["end"]!));
        Assert.Equal("milk", (string)Answer(context, span)["answer"]!); // without the option, never empty
    }
}

public sealed class ServingModelsFixture : IDisposable
{
    public ServingModels Models { get; } = new();
    public void Dispose() => Models.Dispose();
}
