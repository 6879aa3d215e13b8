using Cluster.Model.Checkpoints;
using Cluster.Model.Configuration;
using Cluster.Model.Encoder;
using Cluster.Model.Roberta;
using Cluster.Torch;
using Xunit;

namespace Cluster.Model.Tests;

public sealed class CheckpointTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("cluster-ckpt-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static RobertaConfig Tiny() => new()
    {
        vocab_size = 50, hidden_size = 16, num_hidden_layers = 2, num_attention_heads = 2, intermediate_size = 24,
        max_position_embeddings = 20,
    };

    [Fact]
    public void SafetensorsRoundTripIsBitIdenticalForEveryDtype()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(1);
        var original = new Dictionary<string, Tensor>
        {
            ["f32"] = torch.randn([3, 4], generator: g),
            ["f16"] = torch.randn([5], generator: g).to(ScalarType.Float16),
            ["bf16"] = torch.randn([2, 2], generator: g).to(ScalarType.BFloat16),
            ["f64"] = torch.randn([2], ScalarType.Float64, generator: g),
            ["i64"] = torch.randint(-1000, 1000, [7], generator: g),
            ["bool"] = torch.randint(0, 2, [4], generator: g).gt(0),
            ["scalar"] = torch.scalar_tensor(3.5),
            ["empty"] = torch.zeros([0, 3]),
        };
        var path = Path.Combine(dir, "t.safetensors");
        SafeTensors.Save(path, original, new Dictionary<string, string> { ["format"] = "pt" });
        var loaded = SafeTensors.Load(path);
        Assert.Equal(original.Keys, loaded.Keys);
        foreach (var (name, t) in original)
        {
            Assert.Equal(t.dtype, loaded[name].dtype);
            Assert.Equal(t.shape, loaded[name].shape);
            Assert.Equal(t.bytes().ToArray(), loaded[name].bytes().ToArray());
        }
        Assert.Equal("pt", SafeTensors.Metadata(path)["format"]);
        var converted = SafeTensors.Load(path, dtype: ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, converted["f16"].dtype);
        Assert.Equal(ScalarType.Int64, converted["i64"].dtype); // only floating point converts
    }

    [Fact]
    public void DamagedSafetensorsFilesNameTheProblem()
    {
        using var scope = torch.NewDisposeScope();
        var good = Path.Combine(dir, "good.safetensors");
        SafeTensors.Save(good, new Dictionary<string, Tensor> { ["w"] = torch.ones([64]) });
        var bytes = File.ReadAllBytes(good);

        var truncated = Path.Combine(dir, "truncated.safetensors");
        File.WriteAllBytes(truncated, bytes[..^10]);
        var ex = Assert.Throws<CheckpointException>(() => SafeTensors.Load(truncated));
        Assert.Contains(truncated, ex.Message);
        Assert.Contains("'w'", ex.Message);

        var tiny = Path.Combine(dir, "tiny.safetensors");
        File.WriteAllBytes(tiny, bytes[..5]);
        Assert.Contains("truncated", Assert.Throws<CheckpointException>(() => SafeTensors.Load(tiny)).Message);

        var badHeader = Path.Combine(dir, "header.safetensors");
        var copy = (byte[])bytes.Clone();
        copy[8] = (byte)'x';
        File.WriteAllBytes(badHeader, copy);
        Assert.Contains("not valid JSON", Assert.Throws<CheckpointException>(() => SafeTensors.Load(badHeader)).Message);

        Assert.Contains("no such file", Assert.Throws<CheckpointException>(() => SafeTensors.Load(Path.Combine(dir, "none"))).Message);
    }

    [Fact]
    public void SavePretrainedThenLoadIsBitIdenticalAndLeavesTiedCopiesOut()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        var config = Tiny();
        using var model = new RobertaForMaskedLM(config);
        Pretrained.Save(model, config, dir);
        var keys = SafeTensors.Load(Path.Combine(dir, Pretrained.WeightsFile)).Keys.ToList();
        Assert.Contains("roberta.embeddings.word_embeddings.weight", keys);
        Assert.Contains("lm_head.bias", keys);
        Assert.DoesNotContain("lm_head.decoder.weight", keys);
        Assert.DoesNotContain("lm_head.decoder.bias", keys);

        torch.manual_seed(6);
        using var reloaded = new RobertaForMaskedLM((RobertaConfig)Pretrained.LoadConfig(dir));
        Pretrained.LoadWeights(reloaded, dir, "roberta");
        var a = model.state_dict();
        var b = reloaded.state_dict();
        Assert.Equal(a.Keys, b.Keys);
        foreach (var key in a.Keys) Assert.Equal(a[key].bytes().ToArray(), b[key].bytes().ToArray());
        Assert.Same(reloaded.roberta.embeddings.word_embeddings.weight, reloaded.lm_head.decoder.weight);
    }

    [Fact]
    public void SavePretrainedCopiesTheTokenizerFiles()
    {
        using var scope = torch.NewDisposeScope();
        var source = Directory.CreateDirectory(Path.Combine(dir, "tokenizer")).FullName;
        File.WriteAllText(Path.Combine(source, "vocab.json"), "{\"<s>\": 0}");
        File.WriteAllText(Path.Combine(source, "merges.txt"), "#version: 0.2\n");
        File.WriteAllText(Path.Combine(source, "unrelated.txt"), "not a tokenizer file");
        var config = Tiny();
        using var model = new RobertaModel(config);
        var target = Path.Combine(dir, "saved");
        Pretrained.Save(model, config, target, tokenizerDir: source);
        Assert.Equal("{\"<s>\": 0}", File.ReadAllText(Path.Combine(target, "vocab.json")));
        Assert.True(File.Exists(Path.Combine(target, "merges.txt")));
        Assert.False(File.Exists(Path.Combine(target, "unrelated.txt")));
        Assert.True(File.Exists(Path.Combine(target, "config.json")));
    }

    [Fact]
    public void ABaseCheckpointLoadsIntoATaskModelAndBack()
    {
        using var scope = torch.NewDisposeScope();
        var config = Tiny();
        using var body = new RobertaModel(config);
        Pretrained.Save(body, config, dir);  // keys without the "roberta." prefix
        using var task = new RobertaForSequenceClassification(config);
        var result = Assert.Throws<CheckpointException>(() => Pretrained.LoadWeights(task, dir, "roberta"));
        Assert.Contains("missing keys [classifier.dense.weight", result.Message);   // the new head is not in a base checkpoint

        var sub = Path.Combine(dir, "task");
        Pretrained.Save(task, config, sub);
        using var again = new RobertaModel(config, add_pooling_layer: false);
        Pretrained.LoadWeights(again, sub, "roberta");  // the head keys are not the base model's: ignored
        Assert.Equal(task.roberta.embeddings.word_embeddings.weight.bytes().ToArray(),
            again.embeddings.word_embeddings.weight.bytes().ToArray());
    }

    [Fact]
    public void WrongShapesMissingKeysAndLegacyKeys()
    {
        using var scope = torch.NewDisposeScope();
        var config = Tiny();
        using var model = new RobertaModel(config);
        var sd = StateDictLoader.Unique(model).ToDictionary(kv => kv.Key, kv => kv.Value);
        sd["embeddings.position_ids"] = torch.arange(20).unsqueeze(0);   // legacy buffer of old checkpoints: ignored
        StateDictLoader.Load(model, sd, "roberta");

        var wrong = new Dictionary<string, Tensor>(sd) { ["encoder.layer.1.output.dense.weight"] = torch.zeros([3, 3]) };
        var ex = Assert.Throws<CheckpointException>(() => StateDictLoader.Load(model, wrong, "roberta"));
        Assert.Contains("'encoder.layer.1.output.dense.weight' has shape [3, 3]", ex.Message);

        var partial = new Dictionary<string, Tensor>(sd);
        partial.Remove("pooler.dense.bias");
        partial["encoder.layer.7.output.dense.weight"] = torch.zeros([2]);
        var missing = Assert.Throws<CheckpointException>(() => StateDictLoader.Load(model, partial, "roberta"));
        Assert.Contains("missing keys [pooler.dense.bias]", missing.Message);
        Assert.Contains("unexpected keys [encoder.layer.7.output.dense.weight]", missing.Message);
    }

    [Fact]
    public void LoadingConvertsDtypeAndRefusesDirectoriesWithoutWeights()
    {
        using var scope = torch.NewDisposeScope();
        var config = Tiny();
        using (var model = new RobertaModel(config)) Pretrained.Save(model, config, dir);
        using var doubled = new RobertaModel(config);
        Pretrained.LoadWeights(doubled, dir, "roberta", dtype: ScalarType.Float64);
        Assert.All(doubled.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));

        var empty = Directory.CreateDirectory(Path.Combine(dir, "empty")).FullName;
        Assert.Contains("neither model.safetensors nor pytorch_model.bin",
            Assert.Throws<CheckpointException>(() => Pretrained.LoadWeights(doubled, empty, "roberta")).Message);
        File.WriteAllText(Path.Combine(empty, "pytorch_model.bin"), "");
        var notZip = Assert.Throws<CheckpointException>(() => Pretrained.LoadWeights(doubled, empty, "roberta")).Message;
        Assert.Contains("pytorch_model.bin: not a zip archive", notZip);
    }

    [Fact]
    public void BadInputsAreNamed()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new RobertaModel(Tiny());
        var ids = torch.tensor(new long[] { 0, 5, 60 }, 1, 3);
        Assert.Contains("input_ids contains 60, outside [0, 50)", Assert.Throws<ArgumentException>(() => model.forward(new EncoderInput(ids))).Message);
        var ok = torch.tensor(new long[] { 0, 5, 6 }, 1, 3);
        Assert.Contains("attention_mask must be [1, 3]", Assert.Throws<ArgumentException>(() =>
            model.forward(new EncoderInput(ok) { attention_mask = torch.ones([1, 4]) })).Message);
        Assert.Contains("past_key_values are only for decoders", Assert.Throws<ArgumentException>(() =>
            model.forward(new EncoderInput(ok) { past_key_values = new KeyValueCache([]) })).Message);
        var tooLong = torch.full([1, 25], 5, ScalarType.Int64);
        Assert.Contains("max_position_embeddings", Assert.Throws<ArgumentException>(() => model.forward(new EncoderInput(tooLong))).Message);
    }
}
