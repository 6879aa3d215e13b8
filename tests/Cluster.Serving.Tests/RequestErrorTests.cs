using Cluster.Torch;

namespace Cluster.Serving.Tests;

/// <summary>Bad requests are refused with the kind of error and a message naming the field.</summary>
[Collection("serving")]
public sealed class RequestErrorTests(ServingFixture fixture)
{
    async Task<ServingException> Refused(string target, string body)
    {
        var e = await Assert.ThrowsAnyAsync<ServingException>(() => fixture.Server.InferAsync(target, body));
        return e;
    }

    [Fact]
    public async Task An_unknown_head_names_the_heads_there_are()
    {
        var e = await Refused("sentiment", ServingFixture.Request("x"));
        Assert.Equal(ServingErrorTypes.UnknownHead, e.ErrorType);
        Assert.Contains("kind (sequence-classification)", e.Message);
        // Two heads answer sequence classification: the task name alone is ambiguous.
        var ambiguous = await Refused("sequence-classification", ServingFixture.Request("x"));
        Assert.Contains("kind, own-kind", ambiguous.Message);
    }

    [Theory]
    [InlineData("fill-mask", """{"inputs": "no mask here"}""", "inputs: no mask token <mask>")]
    [InlineData("kind", """{"inputs": 42}""", "inputs: expected a string")]
    [InlineData("kind", """{"inputs": []}""", "inputs: the array is empty")]
    [InlineData("kind", """{"text": "x"}""", "text: unknown field")]
    [InlineData("kind", """{"inputs": "x", "parameters": {"top_k": 0}}""", "parameters.top_k: 0 is out of range")]
    [InlineData("kind", """{"inputs": "x", "parameters": {"topk": 2}}""", "parameters.topk: sequence-classification has no such parameter")]
    [InlineData("roles", """{"inputs": "x", "parameters": {"aggregation_strategy": "longest"}}""", "parameters.aggregation_strategy: 'longest' is not one of")]
    [InlineData("qa", """{"inputs": {"question": "why?"}}""", "inputs.context: missing")]
    [InlineData("qa", """{"inputs": {"question": "why?", "context": "x"}, "parameters": {"doc_stride": 200, "max_seq_len": 64}}""", "parameters.doc_stride: 200 is larger than max_seq_len (64)")]
    [InlineData("choice", """{"inputs": {"prompt": "x", "choices": ["a"]}}""", "inputs.choices: expected an array of at least two strings")]
    [InlineData("embed", """{"inputs": ["a", 1]}""", "inputs[1]: expected a string, got a number")]
    [InlineData("embed", "{not json", "the request body is not valid JSON")]
    public async Task Invalid_input_names_the_field(string target, string body, string message)
    {
        var e = await Refused(target, body);
        Assert.Equal(ServingErrorTypes.InvalidInput, e.ErrorType);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public async Task Too_many_inputs_or_tokens_is_too_large_unless_truncation_is_asked_for()
    {
        var many = await Refused("embed", ServingFixture.Request(Enumerable.Repeat("a cat", 33).ToArray()));
        Assert.Equal(ServingErrorTypes.TooLarge, many.ErrorType);
        Assert.Contains("33 inputs, more than the limit of 32", many.Message);

        var longText = string.Join(" ", Enumerable.Repeat("the cat eats milk", 60));
        var tokens = await Refused("kind", ServingFixture.Request(longText));
        Assert.Equal(ServingErrorTypes.TooLarge, tokens.ErrorType);
        Assert.Contains("more than the limit of 128", tokens.Message);
        var cut = await fixture.Ask("kind", longText, new { truncate = true });
        Assert.NotNull(cut[0]!["label"]);
    }

    [Fact]
    public async Task A_model_that_does_not_load_names_its_directory()
    {
        var missing = Path.Combine(fixture.Models.Root, "nowhere");
        var e = await Assert.ThrowsAnyAsync<Exception>(() => ModelServer.StartAsync(
            new ModelDefinition("broken", fixture.Models.Encoder, [new HeadDefinition("gone", missing)]), Device.CPU, "broken/test"));
        Assert.Contains(missing, e.Message);
    }
}

/// <summary>A model whose outputs are NaN (diverged weights) still answers, with JSON strings where numbers cannot be.</summary>
public sealed class NonFiniteOutputTests
{
    [Fact]
    public async Task Nan_outputs_are_answered_as_strings_not_failed()
    {
        using var models = new Cluster.Testing.ServingModels();
        var dir = Directory.CreateTempSubdirectory("cluster-nan-").FullName;
        foreach (var file in Directory.GetFiles(models.Encoder)) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        var weights = Path.Combine(dir, Cluster.Model.Checkpoints.Pretrained.WeightsFile);
        using (torch.NewDisposeScope())
        {
            var tensors = Cluster.Model.Checkpoints.SafeTensors.Load(weights);
            var name = tensors.Keys.Single(k => k.EndsWith("embeddings.LayerNorm.weight"));
            tensors[name] = torch.full(tensors[name].shape, float.NaN);
            Cluster.Model.Checkpoints.SafeTensors.Save(weights, [.. tensors]);
        }
        using var server = await ModelServer.StartAsync(new ModelDefinition("nan", dir, []), Device.CPU, "nan/test");
        var answer = System.Text.Json.Nodes.JsonNode.Parse(await server.InferAsync("embed", ServingFixture.Request("a cat")))!;
        Assert.All(answer[0]!.AsArray(), v => Assert.Equal("NaN", v!.GetValue<string>()));
        Directory.Delete(dir, recursive: true);
    }
}
