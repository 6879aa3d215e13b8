using Cluster.Model.Configuration;
using Cluster.Model.Encoder;
using Cluster.Model.Roberta;
using Cluster.Model.RoCBert;
using Cluster.Model.Tasks;
using Cluster.Model.Tokenization;
using Cluster.Torch;
using static Cluster.Torch.torch.nn;
using F = Cluster.Torch.torch.nn.functional;

namespace Cluster.Serving.Replica;

/// <summary>A named task head of a replica: the Hugging Face module it was loaded as, run in two halves: its encoder
/// (<see cref="Encode"/>; skipped when the head shares the replica's encoder) and the part after it (<see cref="Apply"/>),
/// which is the module's own forward from the hidden states on, with its own layers.</summary>
public sealed class ReplicaHead : IDisposable
{
    readonly bool _ownsModel;

    internal ReplicaHead(string name, ServingTask task, TaskModel model, bool sharesEncoder, bool ownsModel)
    {
        (Name, Task, Model, SharesEncoder, _ownsModel) = (name, task, model, sharesEncoder, ownsModel);
    }

    public string Name { get; }
    public ServingTask Task { get; }
    public TaskModel Model { get; }
    public PretrainedConfig Config => Model.Config;

    /// <summary>The tokenizer the head's rows are made with (the model's, for a head on the shared encoder).</summary>
    public required Tokenizer Tokenizer { get; init; }

    /// <summary>True when the head runs on the replica's encoder pass (its own encoder weights were the same file).</summary>
    public bool SharesEncoder { get; }

    /// <summary>The encoder (RobertaModel or RoCBertModel) inside the head's module.</summary>
    internal Module Body => Model.Module switch
    {
        RobertaPreTrainedModel m => m.roberta,
        RoCBertPreTrainedModel m => m.roc_bert,
        var m => m,
    };

    internal BaseModelOutput Encode(EncoderInput input) => Body switch
    {
        RobertaModel m => m.forward(input),
        RoCBertModel m => m.forward(input),
        var m => throw new InvalidOperationException($"{m.GetType().Name} is not an encoder"),
    };

    Tensor Pooled(Tensor hidden) => (Body switch
    {
        RobertaModel m => m.pooler,
        RoCBertModel m => m.pooler,
        _ => null,
    } ?? throw new InvalidOperationException($"{Model.Architecture} has no pooler")).forward(hidden);

    /// <summary>A shared head's own copy of the encoder is never run: its weights are freed after loading (the pooler,
    /// which belongs to the head's forward here, stays).</summary>
    internal void DropEncoderWeights()
    {
        switch (Body)
        {
            case RobertaModel m: m.embeddings.Dispose(); m.encoder.Dispose(); break;
            case RoCBertModel m: m.embeddings.Dispose(); m.encoder.Dispose(); break;
        }
    }

    /// <summary>The head on its rows' hidden states (rows × padded length × hidden) with their attention mask; copies
    /// each row's result to the host, cut to the row's own length.</summary>
    internal List<RowOutput> Apply(Tensor hidden, Tensor mask, IReadOnlyList<EncodedRow> rows, int topK)
    {
        var n = rows.Count;
        switch (Task)
        {
            case ServingTask.SequenceClassification:
            {
                var logits = Model.Module switch
                {
                    RobertaForSequenceClassification m => m.classifier.forward(hidden),
                    RoCBertForSequenceClassification m => m.classifier.call(m.dropout.call(Pooled(hidden))),
                    var m => throw Unexpected(m),
                };
                return Split(logits, n);
            }
            case ServingTask.TokenClassification:
            {
                var logits = Model.Module switch
                {
                    RobertaForTokenClassification m => m.classifier.call(m.dropout.call(hidden)),
                    RoCBertForTokenClassification m => m.classifier.call(m.dropout.call(hidden)),
                    var m => throw Unexpected(m),
                };
                var labels = Config.num_labels;
                var length = (int)hidden.size(1);
                var all = Host(logits);
                return rows.Select((r, i) => new RowOutput(all.AsSpan(i * length * labels, r.Length * labels).ToArray())).ToList();
            }
            case ServingTask.QuestionAnswering:
            {
                var scores = Model.Module switch
                {
                    RobertaForQuestionAnswering m => m.qa_outputs.call(hidden),
                    RoCBertForQuestionAnswering m => m.qa_outputs.call(hidden),
                    var m => throw Unexpected(m),
                };
                var length = (int)hidden.size(1);
                var all = Host(scores); // (n, length, 2): start, end interleaved
                return rows.Select((r, i) =>
                {
                    var values = new float[2 * r.Length];
                    for (var t = 0; t < r.Length; t++)
                    {
                        values[t] = all[(i * length + t) * 2];
                        values[r.Length + t] = all[(i * length + t) * 2 + 1];
                    }
                    return new RowOutput(values);
                }).ToList();
            }
            case ServingTask.MultipleChoice:
            {
                var scores = Model.Module switch
                {
                    RobertaForMultipleChoice m => m.classifier.call(m.dropout.call(Pooled(hidden))),
                    RoCBertForMultipleChoice m => m.classifier.call(m.dropout.call(Pooled(hidden))),
                    var m => throw Unexpected(m),
                };
                return Split(scores, n);
            }
            case ServingTask.FillMask:
                return FillMask(hidden, rows, topK);
            case ServingTask.Embed:
            {
                var first = hidden.select(1, 0);
                var weights = mask.to(hidden.dtype).unsqueeze(-1);
                var mean = hidden.mul(weights).sum(1).div(weights.sum(1).clamp_min(1));
                var both = torch.cat([first, mean], 1);
                return Split(both, n);
            }
            default: throw new InvalidOperationException($"no head part for {Task}");
        }
    }

    List<RowOutput> FillMask(Tensor hidden, IReadOnlyList<EncodedRow> rows, int topK)
    {
        var (length, width) = ((int)hidden.size(1), hidden.size(2));
        var positions = rows.SelectMany((r, i) => r.MaskPositions.Select(p => (long)(i * length + p))).ToArray();
        var outputs = rows.Select(_ => new RowOutput([], [])).ToList();
        if (positions.Length == 0) return outputs;
        var at = hidden.reshape(-1, width).index_select(0, torch.tensor(positions, [positions.Length]).to(hidden.device));
        var logits = Model.Module switch
        {
            RobertaForMaskedLM m => m.lm_head.forward(at),
            RoCBertForMaskedLM m => m.cls.forward(at),
            var m => throw Unexpected(m),
        };
        var k = Math.Min(topK, (int)logits.size(1));
        var (values, indices) = F.softmax(logits.to(ScalarType.Float32), -1).topk(k);
        var scores = Host(values);
        var ids = indices.to(Device.CPU).ToArray<long>();
        var next = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            var m = rows[i].MaskPositions.Length;
            outputs[i] = new RowOutput(scores.AsSpan(next * k, m * k).ToArray(), ids.AsSpan(next * k, m * k).ToArray().Select(v => (int)v).ToArray());
            next += m;
        }
        return outputs;
    }

    static float[] Host(Tensor t) => t.to(ScalarType.Float32, Device.CPU).contiguous().ToArray<float>();

    /// <summary>Equal parts of a (rows, …) result, one per row.</summary>
    static List<RowOutput> Split(Tensor values, int rows)
    {
        var all = Host(values);
        var w = all.Length / rows;
        return Enumerable.Range(0, rows).Select(i => new RowOutput(all.AsSpan(i * w, w).ToArray())).ToList();
    }

    InvalidOperationException Unexpected(Module m) => new($"head '{Name}' ({Task.Name()}) is a {m.GetType().Name}");

    public void Dispose()
    {
        if (_ownsModel) Model.Dispose();
    }
}
