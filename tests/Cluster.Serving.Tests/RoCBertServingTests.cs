using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Model.Tasks;
using Cluster.Torch;

namespace Cluster.Serving.Tests;

/// <summary>RoCBert served: its shape and pronunciation ids reach the encoder, its pretraining head answers fill-mask,
/// and WordPiece's "##" pieces are subwords for word aggregation; checked against the model run directly.</summary>
public sealed class RoCBertServingTests : IAsyncLifetime
{
    readonly RoCBertServingModels _models = new();
    ModelServer _server = null!;

    public async Task InitializeAsync() => _server = await ModelServer.StartAsync(
        new ModelDefinition("rocbert", _models.Encoder, [new HeadDefinition("roles", _models.TokenClassifier)]), Device.CPU, "rocbert/test");

    public Task DisposeAsync()
    {
        _server.Dispose();
        _models.Dispose();
        return Task.CompletedTask;
    }

    async Task<JsonNode> Ask(string target, object inputs, object? parameters = null) =>
        JsonNode.Parse(await _server.InferAsync(target, JsonSerializer.Serialize(parameters is null ? new { inputs } : (object)new { inputs, parameters })))!;

    [Fact]
    public async Task Fill_mask_runs_the_pretraining_head_on_all_three_id_streams()
    {
        const string text = "the cat [MASK] milk";
        var encoding = _models.Tokenizer.Encode(text);
        Assert.NotNull(encoding.InputShapeIds);
        var mask = Array.IndexOf(encoding.InputIds, _models.Tokenizer.TokenToId("[MASK]")!.Value);
        var vocab = _models.Tokenizer.VocabSize;
        var logits = Direct.Run(_models.Encoder, Head.MaskedLM, encoding)["logits"];
        var best = Direct.Softmax(logits.Skip(mask * vocab).Take(vocab)).Select((p, id) => (p, id)).OrderByDescending(x => x.p).Take(5).ToList();
        var answer = (JsonArray)await Ask("fill-mask", text);
        Assert.Equal(best.Select(b => b.id), answer.Select(a => (int)a!["token"]!));
        for (var i = 0; i < 5; i++) Assert.Equal(best[i].p, (double)answer[i]!["score"]!, 1e-5);
    }

    [Fact]
    public async Task Token_classification_groups_wordpiece_continuations_into_their_word()
    {
        const string text = "the cat chases jumping birds";
        var encoding = _models.Tokenizer.Encode(text);
        var pieces = encoding.InputIds.Select(id => _models.Tokenizer.IdToToken(id)!).ToList();
        Assert.Contains(pieces, p => p.StartsWith("##", StringComparison.Ordinal)); // "birds" is not in the vocabulary whole
        var none = (JsonArray)await Ask("roles", text, new { ignore_labels = Array.Empty<string>() });
        var logits = Direct.Run(_models.TokenClassifier, Head.TokenClassification, encoding)["logits"];
        var tags = ServingModels.Tags.Length;
        var expected = Enumerable.Range(0, encoding.Length).Where(t => encoding.SpecialTokensMask[t] == 0).ToList();
        Assert.Equal(expected.Count, none.Count);
        for (var i = 0; i < expected.Count; i++)
            Assert.Equal(Direct.Softmax(logits.Skip(expected[i] * tags).Take(tags)).Max(), (double)none[i]!["score"]!, 1e-5);

        // first: one entity per word; the word's text and span cover its pieces.
        var words = (JsonArray)await Ask("roles", text, new { aggregation_strategy = "first", ignore_labels = Array.Empty<string>() });
        var spans = words.Select(w => text[(int)w!["start"]!..(int)w["end"]!]).ToList();
        Assert.All(spans, s => Assert.DoesNotContain("##", s));
        Assert.Contains(words, w => ((string)w!["word"]!).Contains("birds", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Embeddings_use_the_shape_and_pronunciation_ids()
    {
        const string text = "a dog in the house";
        var encoding = _models.Tokenizer.Encode(text);
        var hidden = Direct.Run(_models.Encoder, Head.Base, encoding)["last_hidden_state"];
        var size = hidden.Length / encoding.Length;
        var answer = ((JsonArray)await Ask("embed", text, new { normalize = false }))[0]!.AsArray().Select(x => (double)x!).ToArray();
        Assert.Equal(hidden.Take(size).Select(v => (double)v), answer, (a, b) => Math.Abs(a - b) < 1e-5);
    }
}
