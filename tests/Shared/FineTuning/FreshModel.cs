using Cluster.Model.Configuration;
using Cluster.Model.Tasks;
using Cluster.Torch;

namespace Cluster.Testing;

/// <summary>A "pretrained" model directory for fine-tuning tests: a freshly initialised masked LM (seeded) with its
/// tokenizer's files, as `cluster pretrain` would leave one.</summary>
public static class FreshModel
{
    public static string Save(PretrainedConfig config, string tokenizerDirectory, string directory, ulong seed)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(seed);
        using var model = TaskModel.Create(config, Head.MaskedLM);
        model.SavePretrained(directory, tokenizerDirectory);
        return directory;
    }
}
