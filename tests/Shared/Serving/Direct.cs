using Cluster.Model.Tasks;
using Cluster.Model.Tokenization;
using Cluster.Torch;

namespace Cluster.Testing;

/// <summary>The reference: a model directory loaded and run directly (TaskModel, eval mode) on one tokenized input.</summary>
public static class Direct
{
    public static Dictionary<string, float[]> Run(string dir, Head head, params TokenEncoding[] choices)
    {
        using var scope = torch.NewDisposeScope();
        using var model = TaskModel.FromPretrained(dir, head, out _);
        model.Module.eval();
        using var inference = torch.inference_mode();
        var length = choices.Max(c => c.Length);
        long[] Ids(Func<TokenEncoding, int[]> field, long pad) => choices.SelectMany(c => field(c).Select(v => (long)v).Concat(Enumerable.Repeat(pad, length - c.Length))).ToArray();
        long[] shape = head == Head.MultipleChoice ? [1, choices.Length, length] : [choices.Length, length];
        var inputs = new Dictionary<string, Tensor>
        {
            ["input_ids"] = torch.tensor(Ids(c => c.InputIds, 1), shape),
            ["attention_mask"] = torch.tensor(Ids(c => c.AttentionMask, 0), shape),
        };
        if (choices[0].InputShapeIds is not null)
        {
            inputs["input_shape_ids"] = torch.tensor(Ids(c => c.InputShapeIds!, 0), shape);
            inputs["input_pronunciation_ids"] = torch.tensor(Ids(c => c.InputPronunciationIds!, 0), shape);
            inputs["token_type_ids"] = torch.tensor(Ids(c => c.TokenTypeIds, 0), shape);
        }
        var outputs = model.Run(inputs);
        return outputs.ToDictionary(kv => kv.Key, kv => kv.Value.contiguous().ToArray<float>());
    }

    public static double[] Softmax(IEnumerable<float> logits)
    {
        var x = logits.Select(v => (double)v).ToArray();
        var max = x.Max();
        var e = x.Select(v => Math.Exp(v - max)).ToArray();
        return e.Select(v => v / e.Sum()).ToArray();
    }
}
