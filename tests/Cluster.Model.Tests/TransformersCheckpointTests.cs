using Cluster.Model.Tasks;
using Cluster.Torch;
using Xunit;

namespace Cluster.Model.Tests;

/// <summary>
/// Every parity case as Hugging Face transformers' own save_pretrained wrote it (CASE/transformers:
/// its config.json and model.safetensors, made by fixtures/check_with_transformers.py on the GPU
/// machine) loads key for key and gives transformers' outputs.
/// </summary>
public class TransformersCheckpointTests
{
    [Fact]
    public void ParityWithCheckpointsSavedByTransformers()
    {
        int cases = 0, compared = 0;
        foreach (var (family, name) in Fixture.Cases())
        {
            using var scope = torch.NewDisposeScope();
            var f = Fixture.Load(name, family);
            var saved = Path.Combine(f.Dir, "transformers");
            if (!Directory.Exists(saved)) continue;  // a case this transformers version cannot run (transformers.json says why)
            using var model = TaskModel.FromPretrained(saved, Fixture.HeadOf(name), out var loaded);
            Assert.True(loaded.missing_keys.Count == 0, $"{family}/{name}: transformers' checkpoint lacks {string.Join(", ", loaded.missing_keys)}");
            Assert.True(loaded.unexpected_keys.Count == 0, $"{family}/{name}: unexpected {string.Join(", ", loaded.unexpected_keys)}");
            compared += f.CheckOutputs(model, Device.CPU, $"{family}/{name} (transformers' checkpoint)").compared;
            cases++;
        }
        Assert.True(cases >= 20, $"only {cases} cases have a checkpoint written by transformers");
        Assert.True(compared >= 40, $"only {compared} outputs compared");
    }
}
