using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Model.Tokenization;
using Cluster.Serving.Replica;

namespace Cluster.Serving.Pipelines;

/// <summary>HF's question-answering (transformers 4.37): the question and the context as a pair, the context cut into
/// windows of <c>max_seq_len</c> overlapping by <c>doc_stride</c>; in each window, tokens outside the context (but
/// the first token) scored -10000, start and end soft-maxed, the best spans by start × end probability with
/// <c>max_answer_len</c>, aligned to whole words; the windows' answers sorted and cut to <c>top_k</c>. With
/// <c>handle_impossible_answer</c>, the empty answer competes with the lowest first-token score of any window.</summary>
internal sealed class QuestionAnsweringPipeline : IPipeline
{
    public Prepared Prepare(JsonElement inputs, RequestParameters parameters, ReplicaHead head, ServingLimits limits)
    {
        var topK = parameters.Int("top_k", 1, 1, 100);
        var modelMax = limits.TokensFor(head.Config);
        var maxSeqLen = parameters.Int("max_seq_len", Math.Min(384, modelMax), 8, modelMax);
        var docStride = parameters.Int("doc_stride", Math.Min(maxSeqLen / 2, 128), 0);
        var maxAnswerLen = parameters.Int("max_answer_len", 15, 1);
        var impossible = parameters.Bool("handle_impossible_answer", false);
        var alignToWords = parameters.Bool("align_to_words", true);
        parameters.RejectUnknown("question-answering");
        if (docStride > maxSeqLen) throw new InvalidRequestException($"parameters.doc_stride: {docStride} is larger than max_seq_len ({maxSeqLen})");
        var (items, single) = RequestInputs.Items(inputs, limits, e => e.ValueKind == JsonValueKind.Object, "{\"question\", \"context\"}");
        var examples = items.Select((item, i) =>
        {
            var where = RequestInputs.Where(i, single);
            var (question, context) = (RequestInputs.Field(item, "question", where), RequestInputs.Field(item, "context", where));
            TokenEncoding encoding;
            try
            {
                encoding = head.Tokenizer.Encode(question, context, new EncodeOptions
                {
                    MaxLength = maxSeqLen, Truncation = TruncationStrategy.OnlySecond, Stride = docStride, ReturnOverflowingTokens = true,
                });
            }
            catch (TokenizerException e) { throw new InvalidRequestException($"{where}: {e.Message}"); }
            var windows = new List<TokenEncoding> { encoding };
            windows.AddRange(encoding.Overflowing);
            if (windows.Count > limits.MaxInputsPerRequest)
                throw new RequestTooLargeException($"{where}.context: {windows.Count} windows of {maxSeqLen} tokens, more than the limit of {limits.MaxInputsPerRequest} rows per request");
            return (context, windows);
        }).ToList();
        var rows = examples.SelectMany(e => e.windows.Select(RequestInputs.Row)).ToList();
        return new Prepared(new WorkItem(head, rows), outputs =>
        {
            var next = 0;
            var answers = new List<JsonNode?>();
            foreach (var (context, windows) in examples)
            {
                answers.Add(Answer(context, windows, outputs.Skip(next).Take(windows.Count).ToList(), topK, maxAnswerLen, impossible, alignToWords));
                next += windows.Count;
            }
            return Pipelines.PerInput(answers, single);
        });
    }

    internal static JsonNode Answer(string context, List<TokenEncoding> windows, List<RowOutput> outputs, int topK, int maxAnswerLen, bool impossible, bool alignToWords)
    {
        var answers = new List<(double score, int start, int end)>();
        var minNull = 1_000_000.0;
        for (var w = 0; w < windows.Count; w++)
        {
            var e = windows[w];
            var n = e.Length;
            // p_mask: 1 outside the context; the first token (<s> / [CLS]) stays allowed.
            var allowed = new bool[n];
            for (var t = 0; t < n; t++) allowed[t] = e.SequenceIds[t] == 1 || t == 0 && e.SpecialTokensMask[t] == 1;
            var start = Probabilities(outputs[w].Values.AsSpan(0, n), allowed);
            var end = Probabilities(outputs[w].Values.AsSpan(n, n), allowed);
            if (impossible) minNull = Math.Min(minNull, start[0] * end[0]);
            start[0] = end[0] = 0;
            foreach (var (s, en, score) in Spans(start, end, topK, maxAnswerLen, allowed))
            {
                var (from, to) = Indices(e, s, en, alignToWords);
                answers.Add((score, from, to));
            }
        }
        var result = answers.Select(a => (a.score, a.start, a.end, answer: CodePoints.Slice(context, a.start, a.end) ?? "")).ToList();
        if (impossible) result.Add((minNull, 0, 0, ""));
        var best = result.OrderByDescending(a => a.score).Take(topK)
            .Select(a => (JsonNode)new JsonObject { ["score"] = a.score, ["start"] = a.start, ["end"] = a.end, ["answer"] = a.answer }).ToArray();
        return topK == 1 && best.Length == 1 ? best[0] : new JsonArray(best);
    }

    /// <summary>Masked tokens at -10000, then softmax (float32, as numpy computes it on float32 logits).</summary>
    static float[] Probabilities(ReadOnlySpan<float> logits, bool[] allowed)
    {
        var masked = new float[logits.Length];
        for (var t = 0; t < masked.Length; t++) masked[t] = allowed[t] ? logits[t] : -10000f;
        return Pipelines.Softmax(masked);
    }

    /// <summary>HF's decode_spans: start × end over spans with start ≤ end &lt; start + max_answer_len, the best
    /// <paramref name="topK"/> (ties in the order numpy's argsort gives for a flattened matrix: row-major), kept only
    /// when both ends are allowed tokens.</summary>
    static IEnumerable<(int start, int end, double score)> Spans(float[] start, float[] end, int topK, int maxAnswerLen, bool[] allowed)
    {
        var n = start.Length;
        var candidates = new List<(float score, int index)>(n * Math.Min(n, maxAnswerLen));
        for (var s = 0; s < n; s++)
            for (var e = 0; e < n; e++)
                candidates.Add((e >= s && e - s <= maxAnswerLen - 1 ? start[s] * end[e] : 0f, s * n + e));
        IEnumerable<(float score, int index)> best = topK == 1
            ? [candidates.MaxBy(c => c.score)]
            : candidates.OrderByDescending(c => c.score).Take(topK);
        foreach (var (score, index) in best)
        {
            var (s, e) = (index / n, index % n);
            if (allowed[s] && allowed[e]) yield return (s, e, score);
        }
    }

    /// <summary>Character offsets of a span: whole words when aligning (the first token has no word: its own offsets).</summary>
    static (int start, int end) Indices(TokenEncoding e, int s, int en, bool alignToWords)
    {
        if (alignToWords && e.WordIds[s] is { } startWord && e.WordIds[en] is { } endWord)
        {
            int? from = null, to = null;
            for (var t = 0; t < e.Length; t++)
            {
                if (e.SequenceIds[t] != 1) continue;
                if (e.WordIds[t] == startWord) from ??= e.Offsets[t].Start;
                if (e.WordIds[t] == endWord) to = e.Offsets[t].End;
            }
            if (from is not null && to is not null) return (from.Value, to.Value);
        }
        return (e.Offsets[s].Start, e.Offsets[en].End);
    }
}
