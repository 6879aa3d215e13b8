using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Serving.Replica;

namespace Cluster.Serving.Pipelines;

/// <summary>HF's fill-mask: for each mask token, the top k of the softmax over the vocabulary as
/// <c>{score, token, token_str, sequence}</c>; with several masks in an input, one such list per mask (and the
/// sequence keeps the other masks and the special tokens, as HF's does).</summary>
internal sealed class FillMaskPipeline : IPipeline
{
    public Prepared Prepare(JsonElement inputs, RequestParameters parameters, ReplicaHead head, ServingLimits limits)
    {
        var topK = parameters.Int("top_k", 5, 1, 1000);
        var truncate = parameters.Bool("truncate", limits.AutoTruncate);
        parameters.RejectUnknown("fill-mask");
        var tokenizer = head.Tokenizer;
        var maskId = tokenizer.TokenToId(tokenizer.MaskToken) ?? throw new InvalidOperationException($"the tokenizer has no {tokenizer.MaskToken}");
        var (items, single) = RequestInputs.Items(inputs, limits, RequestInputs.IsString, "a string");
        var max = limits.TokensFor(head.Config);
        var rows = items.Select((item, i) =>
        {
            var where = RequestInputs.Where(i, single);
            var encoding = RequestInputs.Encode(tokenizer, item.GetString()!, null, max, truncate, where);
            var masks = encoding.InputIds.Select((id, t) => (id, t)).Where(x => x.id == maskId).Select(x => x.t).ToArray();
            if (masks.Length == 0) throw new InvalidRequestException($"{where}: no mask token {tokenizer.MaskToken} in the input");
            return RequestInputs.Row(encoding) with { MaskPositions = masks };
        }).ToList();
        return new Prepared(new WorkItem(head, rows, topK), outputs => Pipelines.PerInput(rows.Select((row, i) => Answer(row, outputs[i], topK, head)).ToList(), single));
    }

    static JsonNode Answer(EncodedRow row, RowOutput output, int topK, ReplicaHead head)
    {
        var tokenizer = head.Tokenizer;
        var k = output.Values.Length / row.MaskPositions.Length;
        var singleMask = row.MaskPositions.Length == 1;
        var perMask = new JsonArray();
        for (var m = 0; m < row.MaskPositions.Length; m++)
        {
            var candidates = new JsonArray();
            for (var j = 0; j < k; j++)
            {
                var id = output.Ids![m * k + j];
                var tokens = (int[])row.InputIds.Clone();
                tokens[row.MaskPositions[m]] = id;
                candidates.Add(new JsonObject
                {
                    ["score"] = (double)output.Values[m * k + j],
                    ["token"] = id,
                    ["token_str"] = tokenizer.Decode([id]),
                    ["sequence"] = tokenizer.Decode(tokens.Where(t => t != tokenizer.PadTokenId), skipSpecialTokens: singleMask),
                });
            }
            perMask.Add(candidates);
        }
        return singleMask ? perMask[0]!.DeepClone() : perMask;
    }
}
