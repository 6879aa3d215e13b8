using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Model.Configuration;
using Cluster.Model.Tokenization;
using Cluster.Serving.Replica;

namespace Cluster.Serving.Pipelines;

/// <summary>HF's token-classification (transformers 4.37): softmax per token, special tokens skipped, then the
/// aggregation strategy: <c>none</c> (each token: entity, score, index, word, start, end), <c>simple</c> (adjacent
/// tokens of one entity grouped, B- starting a new group), or <c>first</c>/<c>average</c>/<c>max</c> (tokens of one word
/// forced to agree first, then grouped). Labels in <c>ignore_labels</c> (default <c>["O"]</c>) are dropped. Offsets
/// count code points of the input, as Python's do.</summary>
internal sealed class TokenClassificationPipeline : IPipeline
{
    sealed record Token(string Word, float[] Scores, int Start, int End, int Index, bool IsSubword);

    internal sealed record Entity(string Label, float Score, string Word, int Start, int End, int? Index);

    public Prepared Prepare(JsonElement inputs, RequestParameters parameters, ReplicaHead head, ServingLimits limits)
    {
        var strategy = parameters.Choice("aggregation_strategy", "none", "none", "simple", "first", "average", "max");
        var ignore = parameters.Strings("ignore_labels") ?? ["O"];
        var truncate = parameters.Bool("truncate", limits.AutoTruncate);
        parameters.RejectUnknown("token-classification");
        var (items, single) = RequestInputs.Items(inputs, limits, RequestInputs.IsString, "a string");
        var max = limits.TokensFor(head.Config);
        var encodings = items.Select((item, i) => RequestInputs.Encode(head.Tokenizer, item.GetString()!, null, max, truncate, RequestInputs.Where(i, single))).ToList();
        var rows = encodings.Select(RequestInputs.Row).ToList();
        return new Prepared(new WorkItem(head, rows), outputs => Pipelines.PerInput(encodings.Select((e, i) =>
        {
            var entities = Entities(items[i].GetString()!, e, outputs[i].Values, strategy, head.Config, head.Tokenizer);
            return (JsonNode?)new JsonArray(entities.Where(x => !ignore.Contains(x.Label)).Select(x => Json(x, strategy)).ToArray());
        }).ToList(), single));
    }

    internal static List<Entity> Entities(string sentence, TokenEncoding encoding, float[] logits, string strategy, PretrainedConfig config, Tokenizer tokenizer)
    {
        var tokens = Gather(sentence, encoding, logits, config.num_labels, tokenizer);
        if (strategy is "none" or "simple")
        {
            var entities = tokens.Select(t =>
            {
                var best = ArgMax(t.Scores);
                return new Entity(Pipelines.Label(config, best), t.Scores[best], t.Word, t.Start, t.End, t.Index);
            }).ToList();
            return strategy == "none" ? entities : Group(entities, tokenizer);
        }
        return Group(Words(tokens, strategy, config, tokenizer), tokenizer);
    }

    static List<Token> Gather(string sentence, TokenEncoding encoding, float[] logits, int labels, Tokenizer tokenizer)
    {
        var tokens = new List<Token>();
        var unk = tokenizer.TokenToId(tokenizer.UnkToken);
        // Word-aware tokenizers (WordPiece's "##" continuation) tell subwords by their text; byte-level BPE falls back
        // to HF's heuristic: a token is a subword unless a space touches its start.
        var wordAware = tokenizer is RoCBertTokenizer;
        var text = new CodePointText(sentence);
        for (var t = 0; t < encoding.Length; t++)
        {
            if (encoding.SpecialTokensMask[t] == 1) continue;
            var scores = Pipelines.Softmax(logits.AsSpan(t * labels, labels));
            var word = tokenizer.IdToToken(encoding.InputIds[t])!;
            var (start, end) = encoding.Offsets[t];
            var reference = text.Slice(start, end) ?? "";
            bool isSubword;
            if (wordAware) isSubword = word.Length != reference.Length;
            else
            {
                var around = text.Slice(Math.Max(start - 1, 0), Math.Min(start + 1, text.Count)) ?? "";
                isSubword = start > 0 && !around.Contains(' ');
            }
            if (encoding.InputIds[t] == unk) (word, isSubword) = (reference, false);
            tokens.Add(new Token(word, scores, start, end, t, isSubword));
        }
        return tokens;
    }

    /// <summary>first / average / max: the tokens of each word get one label.</summary>
    static List<Entity> Words(List<Token> tokens, string strategy, PretrainedConfig config, Tokenizer tokenizer)
    {
        var words = new List<Entity>();
        var group = new List<Token>();
        void Flush()
        {
            if (group.Count == 0) return;
            float[] scores;
            switch (strategy)
            {
                case "first": scores = group[0].Scores; break;
                case "max": scores = group.OrderByDescending(t => t.Scores.Max()).First().Scores; break; // the first of equal maxima, as Python's max
                default:
                    scores = new float[group[0].Scores.Length];
                    for (var j = 0; j < scores.Length; j++) scores[j] = group.Average(t => t.Scores[j]);
                    break;
            }
            var best = ArgMax(scores);
            words.Add(new Entity(Pipelines.Label(config, best), scores[best], tokenizer.ConvertTokensToString(group.Select(t => t.Word).ToList()),
                group[0].Start, group[^1].End, null));
            group.Clear();
        }
        foreach (var token in tokens)
        {
            if (group.Count > 0 && !token.IsSubword) Flush();
            group.Add(token);
        }
        Flush();
        return words;
    }

    /// <summary>HF's group_entities: adjacent entities with the same tag join unless the next one is a B-.</summary>
    static List<Entity> Group(List<Entity> entities, Tokenizer tokenizer)
    {
        var groups = new List<Entity>();
        var current = new List<Entity>();
        void Flush()
        {
            if (current.Count == 0) return;
            var tag = current[0].Label.Split('-')[^1];
            groups.Add(new Entity(tag, current.Average(e => e.Score), tokenizer.ConvertTokensToString(current.Select(e => e.Word).ToList()),
                current[0].Start, current[^1].End, null));
            current.Clear();
        }
        foreach (var entity in entities)
        {
            if (current.Count > 0)
            {
                var (bi, tag) = Tag(entity.Label);
                var (_, lastTag) = Tag(current[^1].Label);
                if (!(tag == lastTag && bi != "B")) Flush();
            }
            current.Add(entity);
        }
        Flush();
        return groups;
    }

    static (string bi, string tag) Tag(string label) =>
        label.StartsWith("B-", StringComparison.Ordinal) ? ("B", label[2..])
        : label.StartsWith("I-", StringComparison.Ordinal) ? ("I", label[2..])
        : ("I", label);

    static int ArgMax(float[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    static JsonNode Json(Entity e, string strategy)
    {
        var o = new JsonObject { [strategy == "none" ? "entity" : "entity_group"] = e.Label, ["score"] = (double)e.Score };
        if (e.Index is { } index) o["index"] = index;
        o["word"] = e.Word;
        o["start"] = e.Start;
        o["end"] = e.End;
        return o;
    }
}
