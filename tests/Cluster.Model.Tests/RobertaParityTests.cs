using Cluster.Model.Checkpoints;
using Cluster.Model.Encoder;
using Cluster.Model.Roberta;
using Cluster.Torch;
using Xunit;
using static Cluster.Torch.torch.nn;

namespace Cluster.Model.Tests;

/// <summary>Same weights, same inputs as the PyTorch reference → the same outputs, losses included.</summary>
public class RobertaParityTests
{
    private static T Loaded<T>(Fixture f, T model) where T : Module
    {
        Pretrained.LoadWeights(model, f.Dir, "roberta"); // strict: names and shapes must match the reference's
        model.eval();
        return model;
    }

    [Theory]
    [InlineData("absolute")]
    [InlineData("relative_key")]
    [InlineData("relative_key_query")]
    public void BaseModelWithEachPositionEmbeddingType(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var f = Fixture.Load($"base_{kind}");
        using var model = Loaded(f, new RobertaModel(f.Roberta));
        var input = new EncoderInput(f["input_ids"]) { attention_mask = f["attention_mask"], token_type_ids = f["token_type_ids"] };

        var fast = model.forward(input);
        Fixture.Close(f["last_hidden_state"], fast.last_hidden_state);
        Fixture.Close(f["pooler_output"], fast.pooler_output!);

        var detailed = model.forward(input with { output_attentions = true, output_hidden_states = true });
        Fixture.Close(f["last_hidden_state"], detailed.last_hidden_state);
        Assert.Equal(3, detailed.hidden_states!.Count);
        Fixture.Close(f["hidden_states.1"], detailed.hidden_states[1]);
        Assert.Equal(2, detailed.attentions!.Count);
        Fixture.Close(f["attentions.0"], detailed.attentions[0]);

        var masked = model.forward(input with { head_mask = f["head_mask"] });
        Fixture.Close(f["last_hidden_state_head_masked"], masked.last_hidden_state);
    }

    [Fact]
    public void MaskedLMWithTiedDecoderAndLoss()
    {
        using var scope = torch.NewDisposeScope();
        var f = Fixture.Load("masked_lm");
        using var model = Loaded(f, new RobertaForMaskedLM(f.Roberta));
        Assert.Same(model.roberta.embeddings.word_embeddings.weight, model.lm_head.decoder.weight);
        var o = model.forward(new EncoderInput(f["input_ids"]) { attention_mask = f["attention_mask"] }, f["labels"]);
        Fixture.Close(f["logits"], o.logits);
        Fixture.Close(f["loss"], o.loss!.view(1));
    }

    [Fact]
    public void CausalLMAndIncrementalDecodingWithTheCache()
    {
        using var scope = torch.NewDisposeScope();
        var f = Fixture.Load("causal_lm");
        using var model = Loaded(f, new RobertaForCausalLM(f.Roberta));
        var ids = f["input_ids"];
        var full = model.forward(new EncoderInput(ids), f["labels"]);
        Fixture.Close(f["logits"], full.logits);
        Fixture.Close(f["loss"], full.loss!.view(1));

        // the first 4 tokens at once, then one token at a time from the cache
        long T = ids.size(1);
        var step = model.forward(new EncoderInput(ids.narrow(1, 0, 4)) { use_cache = true });
        var cache = step.past_key_values!;
        Assert.Equal(4, cache.Length);
        for (long t = 4; t < T; t++)
        {
            step = model.forward(new EncoderInput(ids.narrow(1, t, 1)) { past_key_values = cache, use_cache = true });
            cache = step.past_key_values!;
            Fixture.Close(full.logits.narrow(1, t, 1), step.logits);
        }
        Assert.Equal(T, cache.Length);
    }

    [Theory]
    [InlineData("single_label_classification")]
    [InlineData("regression")]
    [InlineData("multi_label_classification")]
    public void SequenceClassificationByProblemType(string problem)
    {
        using var scope = torch.NewDisposeScope();
        var f = Fixture.Load($"sequence_classification_{problem}");
        Assert.Equal(problem, f.Config.problem_type);
        using var model = Loaded(f, new RobertaForSequenceClassification(f.Roberta));
        var o = model.forward(new EncoderInput(f["input_ids"]) { attention_mask = f["attention_mask"] }, f["labels"]);
        Fixture.Close(f["logits"], o.logits);
        Fixture.Close(f["loss"], o.loss!.view(1));
    }

    [Fact]
    public void SequenceClassificationInfersTheProblemTypeLikeHuggingFace()
    {
        using var scope = torch.NewDisposeScope();
        var f = Fixture.Load("sequence_classification_single_label_classification");
        f.Config.problem_type = null; // integer labels and 3 classes → single-label
        using var model = Loaded(f, new RobertaForSequenceClassification(f.Roberta));
        var o = model.forward(new EncoderInput(f["input_ids"]) { attention_mask = f["attention_mask"] }, f["labels"]);
        Fixture.Close(f["loss"], o.loss!.view(1));
    }

    [Fact]
    public void TokenClassification()
    {
        using var scope = torch.NewDisposeScope();
        var f = Fixture.Load("token_classification");
        using var model = Loaded(f, new RobertaForTokenClassification(f.Roberta));
        var o = model.forward(new EncoderInput(f["input_ids"]) { attention_mask = f["attention_mask"] }, f["labels"]);
        Fixture.Close(f["logits"], o.logits);
        Fixture.Close(f["loss"], o.loss!.view(1));
    }

    [Fact]
    public void QuestionAnsweringWithAnOutOfRangeEndIgnored()
    {
        using var scope = torch.NewDisposeScope();
        var f = Fixture.Load("question_answering");
        using var model = Loaded(f, new RobertaForQuestionAnswering(f.Roberta));
        var o = model.forward(new EncoderInput(f["input_ids"]) { attention_mask = f["attention_mask"] },
            f["start_positions"], f["end_positions"]);
        Fixture.Close(f["start_logits"], o.start_logits);
        Fixture.Close(f["end_logits"], o.end_logits);
        Fixture.Close(f["loss"], o.loss!.view(1));
    }

    [Fact]
    public void MultipleChoice()
    {
        using var scope = torch.NewDisposeScope();
        var f = Fixture.Load("multiple_choice");
        using var model = Loaded(f, new RobertaForMultipleChoice(f.Roberta));
        var o = model.forward(new EncoderInput(f["input_ids"]) { attention_mask = f["attention_mask"] }, f["labels"]);
        Fixture.Close(f["logits"], o.logits);
        Fixture.Close(f["loss"], o.loss!.view(1));
    }

    [Fact]
    public void DecoderWithCrossAttention()
    {
        using var scope = torch.NewDisposeScope();
        var f = Fixture.Load("decoder_cross_attention");
        using var model = Loaded(f, new RobertaModel(f.Roberta, add_pooling_layer: false));
        var o = model.forward(new EncoderInput(f["input_ids"])
        {
            encoder_hidden_states = f["encoder_hidden_states"], encoder_attention_mask = f["encoder_attention_mask"],
        });
        Fixture.Close(f["last_hidden_state"], o.last_hidden_state);
    }
}
