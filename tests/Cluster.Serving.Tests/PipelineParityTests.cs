using System.Text.Json.Nodes;
using Cluster.Model.Tasks;
using Cluster.Model.Tokenization;

namespace Cluster.Serving.Tests;

/// <summary>Every task through the server against the same model directory run directly on the same tokens, with
/// the pipeline's post-processing recomputed here in double precision (1e-5).</summary>
[Collection("serving")]
public sealed class PipelineParityTests(ServingFixture fixture)
{
    const double Tolerance = 1e-5;
    Tokenizer Tokenizer => fixture.Models.Tokenizer;

    [Fact]
    public async Task Fill_mask_gives_the_top_five_of_the_softmax_at_the_mask()
    {
        const string text = "the cat eats <mask> in the house.";
        var answer = (JsonArray)await fixture.Ask("fill-mask", text);
        var encoding = Tokenizer.Encode(text);
        var mask = Array.IndexOf(encoding.InputIds, Tokenizer.TokenToId("<mask>")!.Value);
        var vocab = Tokenizer.VocabSize;
        var logits = Direct.Run(fixture.Models.Encoder, Head.MaskedLM, encoding)["logits"];
        var probabilities = Direct.Softmax(logits.Skip(mask * vocab).Take(vocab));
        var expected = probabilities.Select((p, id) => (p, id)).OrderByDescending(x => x.p).Take(5).ToList();
        Assert.Equal(5, answer.Count);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(expected[i].id, (int)answer[i]!["token"]!);
            Assert.Equal(expected[i].p, (double)answer[i]!["score"]!, Tolerance);
            Assert.Equal(Tokenizer.Decode([expected[i].id]), (string)answer[i]!["token_str"]!);
            var filled = (int[])encoding.InputIds.Clone();
            filled[mask] = expected[i].id;
            Assert.Equal(Tokenizer.Decode(filled, skipSpecialTokens: true), (string)answer[i]!["sequence"]!);
        }
    }

    [Fact]
    public async Task Sequence_classification_gives_the_best_label_or_all_sorted()
    {
        const string text = "the big dog sleeps in the yard.";
        var logits = Direct.Run(fixture.Models.SequenceClassifier, Head.SequenceClassification, Tokenizer.Encode(text))["logits"];
        var p = Direct.Softmax(logits);
        var best = Array.IndexOf(p, p.Max());
        var legacy = (JsonArray)await fixture.Ask("kind", text);
        Assert.Single(legacy);
        Assert.Equal(ServingModels.Kinds[best], (string)legacy[0]!["label"]!);
        Assert.Equal(p[best], (double)legacy[0]!["score"]!, Tolerance);

        var all = (JsonArray)await fixture.Ask("kind", text, new { top_k = (int?)null });
        Assert.Equal(p.OrderDescending(), all.Select(x => (double)x!["score"]!), (a, b) => Math.Abs(a - b) < Tolerance);
        Assert.Equal(p.Select((v, i) => (v, i)).OrderByDescending(x => x.v).Select(x => ServingModels.Kinds[x.i]), all.Select(x => (string)x!["label"]!));

        var sigmoid = (JsonArray)await fixture.Ask("kind", text, new { top_k = 1, function_to_apply = "sigmoid" });
        Assert.Equal(1 / (1 + Math.Exp(-logits.Max())), (double)sigmoid[0]!["score"]!, Tolerance);
    }

    [Fact]
    public async Task A_head_with_its_own_encoder_runs_its_own_weights()
    {
        const string text = "a fish lives in the pond.";
        var p = Direct.Softmax(Direct.Run(fixture.Models.OwnEncoderClassifier, Head.SequenceClassification, Tokenizer.Encode(text))["logits"]);
        var answer = (JsonArray)await fixture.Ask("own-kind", text, new { top_k = 3 });
        Assert.Equal(p.OrderDescending(), answer.Select(x => (double)x!["score"]!), (a, b) => Math.Abs(a - b) < Tolerance);
    }

    [Fact]
    public async Task Token_classification_without_aggregation_labels_every_token_with_its_offsets()
    {
        const string text = "the horse chases the mouse near the tree";
        var encoding = Tokenizer.Encode(text);
        var logits = Direct.Run(fixture.Models.TokenClassifier, Head.TokenClassification, encoding)["logits"];
        var answer = (JsonArray)await fixture.Ask("roles", text, new { ignore_labels = Array.Empty<string>() });
        var tags = ServingModels.Tags.Length;
        var expected = Enumerable.Range(0, encoding.Length).Where(t => encoding.SpecialTokensMask[t] == 0).ToList();
        Assert.Equal(expected.Count, answer.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var t = expected[i];
            var p = Direct.Softmax(logits.Skip(t * tags).Take(tags));
            var best = Array.IndexOf(p, p.Max());
            var entity = answer[i]!;
            Assert.Equal(ServingModels.Tags[best], (string)entity["entity"]!);
            Assert.Equal(p[best], (double)entity["score"]!, Tolerance);
            Assert.Equal(t, (int)entity["index"]!);
            Assert.Equal(Tokenizer.IdToToken(encoding.InputIds[t]), (string)entity["word"]!);
            Assert.Equal(encoding.Offsets[t].Start, (int)entity["start"]!);
            Assert.Equal(encoding.Offsets[t].End, (int)entity["end"]!);
        }
    }

    [Fact]
    public async Task Question_answering_scores_the_best_span_as_start_times_end_probability()
    {
        const string question = "what does the cat eat?";
        const string context = "the cat eats milk. the dog eats bones.";
        var encoding = Tokenizer.Encode(question, context);
        var direct = Direct.Run(fixture.Models.QuestionAnswerer, Head.QuestionAnswering, encoding);
        var inContext = Enumerable.Range(0, encoding.Length).Select(t => encoding.SequenceIds[t] == 1 || t == 0).ToArray();
        double[] P(float[] logits) => Direct.Softmax(logits.Select((v, t) => inContext[t] ? v : -10000f));
        var (start, end) = (P(direct["start_logits"]), P(direct["end_logits"]));
        start[0] = end[0] = 0;
        var best = (score: -1.0, s: 0, e: 0);
        for (var s = 1; s < encoding.Length; s++)
            for (var e = s; e < Math.Min(encoding.Length, s + 15); e++)
                if (inContext[s] && inContext[e] && start[s] * end[e] > best.score) best = (start[s] * end[e], s, e);

        var answer = await fixture.Ask("qa", new { question, context }, new { align_to_words = false });
        Assert.Equal(best.score, (double)answer["score"]!, Tolerance);
        Assert.Equal(encoding.Offsets[best.s].Start, (int)answer["start"]!);
        Assert.Equal(encoding.Offsets[best.e].End, (int)answer["end"]!);
        Assert.Equal(context[(int)answer["start"]!..(int)answer["end"]!], (string)answer["answer"]!);
    }

    [Fact]
    public async Task Multiple_choice_is_the_softmax_over_the_choices()
    {
        string[] choices = ["milk", "hay", "seeds"];
        var encodings = choices.Select(c => Tokenizer.Encode("the cat eats", c)).ToArray();
        var p = Direct.Softmax(Direct.Run(fixture.Models.MultipleChoice, Head.MultipleChoice, encodings)["logits"]);
        var answer = await fixture.Ask("multiple-choice", new { prompt = "the cat eats", choices });
        Assert.Equal(p, answer["scores"]!.AsArray().Select(x => (double)x!), (a, b) => Math.Abs(a - b) < Tolerance);
        Assert.Equal(Array.IndexOf(p, p.Max()), (int)answer["label"]!);
        Assert.Equal(choices[(int)answer["label"]!], (string)answer["choice"]!);
    }

    [Fact]
    public async Task Embeddings_pool_the_encoder_by_the_first_token_or_the_mean_and_normalise()
    {
        const string text = "every lazy bird sleeps in the tree.";
        var encoding = Tokenizer.Encode(text);
        var hidden = Direct.Run(fixture.Models.Encoder, Head.Base, encoding)["last_hidden_state"];
        var size = hidden.Length / encoding.Length;
        var cls = hidden.Take(size).Select(v => (double)v).ToArray();
        var mean = Enumerable.Range(0, size).Select(j => Enumerable.Range(0, encoding.Length).Average(t => (double)hidden[t * size + j])).ToArray();
        double[] Unit(double[] v) => v.Select(x => x / Math.Sqrt(v.Sum(y => y * y))).ToArray();

        var first = ((JsonArray)await fixture.Ask("embed", text))[0]!.AsArray().Select(x => (double)x!).ToArray();
        Assert.Equal(Unit(cls), first, (a, b) => Math.Abs(a - b) < Tolerance);
        var averaged = ((JsonArray)await fixture.Ask("embed", new[] { text }, new { pooling = "mean", normalize = false }))[0]!.AsArray().Select(x => (double)x!).ToArray();
        Assert.Equal(mean, averaged, (a, b) => Math.Abs(a - b) < Tolerance);
    }
}
