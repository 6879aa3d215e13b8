using Cluster.Model.Checkpoints;
using Cluster.Model.Encoder;
using Cluster.Model.Roberta;
using Cluster.Torch;
using Xunit;

namespace Cluster.Model.Tests;

/// <summary>pytorch_model.bin files written by the real torch.save (fixtures/make_pickle_fixtures.py).</summary>
public class TorchPickleTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "pickle", name);

    [Fact]
    public void ReadsEveryDtypeViewsParametersAndMetadata()
    {
        using var scope = torch.NewDisposeScope();
        var loaded = TorchPickle.Load(Fixture("state_dict.bin"));
        var expected = SafeTensors.Load(Fixture("state_dict_expected.safetensors"));
        Assert.Equal(expected.Keys, loaded.Keys);
        var dtypes = new Dictionary<string, ScalarType>
        {
            ["weight"] = ScalarType.Float32, ["f16"] = ScalarType.Float16, ["bf16"] = ScalarType.BFloat16, ["f64"] = ScalarType.Float64,
            ["i64"] = ScalarType.Int64, ["bool"] = ScalarType.Bool, ["view_t"] = ScalarType.Float32, ["param"] = ScalarType.Float32,
        };
        foreach (var (name, want) in expected)
        {
            var got = loaded[name];
            if (dtypes.TryGetValue(name, out var dtype)) Assert.Equal(dtype, got.dtype);
            Assert.Equal(want.shape, got.shape);
            var asExpected = got.to(want.dtype).contiguous();
            Assert.Equal(want.bytes().ToArray(), asExpected.bytes().ToArray());
        }
        Assert.False(loaded["view_t"].is_contiguous()); // rebuilt as the strided view it was
        Assert.Equal(1L << 40, loaded["i64"].ToArray<long>()[3]);
    }

    [Fact]
    public void RefusesAPickleThatWouldRunCode()
    {
        var ex = Assert.Throws<CheckpointException>(() => TorchPickle.Load(Fixture("malicious.bin")));
        Assert.Contains("refusing global posix.system", ex.Message);
        Assert.False(File.Exists("/tmp/cluster-pickle-exploit"));
    }

    [Fact]
    public void NamesTheLegacyFormatAndDamagedFiles()
    {
        Assert.Contains("legacy", Assert.Throws<CheckpointException>(() => TorchPickle.Load(Fixture("legacy.bin"))).Message);
        var dir = Directory.CreateTempSubdirectory("cluster-pickle-").FullName;
        try
        {
            var bytes = File.ReadAllBytes(Fixture("state_dict.bin"));
            var cut = Path.Combine(dir, "cut.bin");
            File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
            var ex = Assert.Throws<CheckpointException>(() => TorchPickle.Load(cut));
            Assert.Contains(cut, ex.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void AModelDirectoryWithOnlyPytorchModelBinLoadsToTheSameNumbers()
    {
        using var scope = torch.NewDisposeScope();
        var reference = Tests.Fixture.Load("masked_lm");
        var dir = Fixture("roberta_masked_lm");
        using var model = new RobertaForMaskedLM((Configuration.RobertaConfig)Pretrained.LoadConfig(dir));
        Pretrained.LoadWeights(model, dir, "roberta");
        model.eval();
        var o = model.forward(new EncoderInput(reference["input_ids"]) { attention_mask = reference["attention_mask"] });
        Tests.Fixture.Close(reference["logits"], o.logits);
    }
}
