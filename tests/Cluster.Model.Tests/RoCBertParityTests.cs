using Cluster.Model.Checkpoints;
using Cluster.Model.Encoder;
using Cluster.Model.RoCBert;
using Cluster.Torch;
using Xunit;
using static Cluster.Torch.torch.nn;

namespace Cluster.Model.Tests;

/// <summary>RoCBert against its PyTorch reference (fixtures/make_rocbert_fixtures.py).</summary>
public class RoCBertParityTests
{
    private static Fixture Case(string name) => Fixture.Load(name, "roc_bert");

    private static T Loaded<T>(Fixture f, T model) where T : Module
    {
        Pretrained.LoadWeights(model, f.Dir, "roc_bert");
        model.eval();
        return model;
    }

    private static EncoderInput Input(Fixture f, string prefix = "") => new(f[prefix + "input_ids"])
    {
        input_shape_ids = f.Optional(prefix + "input_shape_ids"),
        input_pronunciation_ids = f.Optional(prefix + "input_pronunciation_ids"),
        attention_mask = f.Optional(prefix + "attention_mask"),
        token_type_ids = f.Optional(prefix + "token_type_ids"),
    };

    [Theory]
    [InlineData("base_concat")]
    [InlineData("base_average")]
    [InlineData("base_concat_no_shape")]
    [InlineData("base_average_no_pronunciation")]
    public void BaseModelWithEachWayOfCombiningTheEmbeddings(string name)
    {
        using var scope = torch.NewDisposeScope();
        var f = Case(name);
        using var model = Loaded(f, new RoCBertModel(f.RoCBert));
        var o = model.forward(Input(f));
        Fixture.Close(f["last_hidden_state"], o.last_hidden_state);
        Fixture.Close(f["pooler_output"], o.pooler_output!);
    }

    [Fact]
    public void PreTrainingLossIsMaskedLMPlusContrastive()
    {
        using var scope = torch.NewDisposeScope();
        var f = Case("pretraining");
        using var model = Loaded(f, new RoCBertForPreTraining(f.RoCBert));
        var labels = Input(f, "labels_");
        var attack = Input(f, "attack_");
        var full = model.forward(new RoCBertPreTrainingInput(Input(f))
        {
            labels_input_ids = f["labels_input_ids"], labels_input_shape_ids = labels.input_shape_ids,
            labels_input_pronunciation_ids = labels.input_pronunciation_ids, labels_attention_mask = labels.attention_mask,
            labels_token_type_ids = labels.token_type_ids, attack_input_ids = attack.input_ids,
            attack_input_shape_ids = attack.input_shape_ids, attack_input_pronunciation_ids = attack.input_pronunciation_ids,
            attack_attention_mask = attack.attention_mask, attack_token_type_ids = attack.token_type_ids,
        });
        Fixture.Close(f["logits"], full.logits);
        Fixture.Close(f["loss"], full.loss!.view(1));
        var mlmOnly = model.forward(new RoCBertPreTrainingInput(Input(f)) { labels_input_ids = f["labels_input_ids"] });
        Fixture.Close(f["mlm_loss"], mlmOnly.loss!.view(1));
    }

    [Fact]
    public void MaskedLMWithTiedDecoder()
    {
        using var scope = torch.NewDisposeScope();
        var f = Case("masked_lm");
        using var model = Loaded(f, new RoCBertForMaskedLM(f.RoCBert));
        Assert.Same(model.roc_bert.embeddings.word_embeddings.weight, model.cls.predictions.decoder.weight);
        Assert.Same(model.cls.predictions.bias, model.cls.predictions.decoder.bias);
        var o = model.forward(Input(f), f["labels"]);
        Fixture.Close(f["logits"], o.logits);
        Fixture.Close(f["loss"], o.loss!.view(1));
    }

    [Fact]
    public void CausalLM()
    {
        using var scope = torch.NewDisposeScope();
        var f = Case("causal_lm");
        using var model = Loaded(f, new RoCBertForCausalLM(f.RoCBert));
        var o = model.forward(Input(f), f["labels"]);
        Fixture.Close(f["logits"], o.logits);
        Fixture.Close(f["loss"], o.loss!.view(1));
    }

    [Fact]
    public void SequenceClassificationFromThePooler()
    {
        using var scope = torch.NewDisposeScope();
        var f = Case("sequence_classification");
        using var model = Loaded(f, new RoCBertForSequenceClassification(f.RoCBert));
        var o = model.forward(Input(f), f["labels"]);
        Fixture.Close(f["logits"], o.logits);
        Fixture.Close(f["loss"], o.loss!.view(1));
    }

    [Fact]
    public void TokenClassification()
    {
        using var scope = torch.NewDisposeScope();
        var f = Case("token_classification");
        using var model = Loaded(f, new RoCBertForTokenClassification(f.RoCBert));
        var o = model.forward(Input(f), f["labels"]);
        Fixture.Close(f["logits"], o.logits);
        Fixture.Close(f["loss"], o.loss!.view(1));
    }

    [Fact]
    public void QuestionAnswering()
    {
        using var scope = torch.NewDisposeScope();
        var f = Case("question_answering");
        using var model = Loaded(f, new RoCBertForQuestionAnswering(f.RoCBert));
        var o = model.forward(Input(f), f["start_positions"], f["end_positions"]);
        Fixture.Close(f["start_logits"], o.start_logits);
        Fixture.Close(f["end_logits"], o.end_logits);
        Fixture.Close(f["loss"], o.loss!.view(1));
    }

    [Fact]
    public void MultipleChoiceFlattensEveryIdTensor()
    {
        using var scope = torch.NewDisposeScope();
        var f = Case("multiple_choice");
        using var model = Loaded(f, new RoCBertForMultipleChoice(f.RoCBert));
        var o = model.forward(Input(f), f["labels"]);
        Fixture.Close(f["logits"], o.logits);
        Fixture.Close(f["loss"], o.loss!.view(1));
    }
}
