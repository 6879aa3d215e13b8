using Cluster.Model.Checkpoints;
using Cluster.Model.Configuration;
using Cluster.Model.Encoder;
using Cluster.Model.Tasks;
using Cluster.Model.Tokenization;
using Cluster.Torch;

namespace Cluster.Serving.Replica;

/// <summary>
/// One copy of a model on one device, in eval mode: the encoder of the model's directory with the head that directory
/// holds (fill-mask for a masked LM), an <c>embed</c> head on the same encoder, and the named heads of the definition.
/// <see cref="Run"/> takes a batch of requests for any of them and runs each distinct encoder once over all its rows,
/// then each head on its own rows. Everything here runs on the thread that loaded it (the replica's queue thread).
/// </summary>
public sealed class ModelReplica : IDisposable
{
    readonly TaskModel _encoder;
    readonly ReplicaHead _shared;
    readonly Dictionary<string, ReplicaHead> _heads;

    ModelReplica(string name, TaskModel encoder, Tokenizer tokenizer, Device device, List<ReplicaHead> heads)
    {
        (Name, _encoder, Tokenizer, Device) = (name, encoder, tokenizer, device);
        _heads = heads.ToDictionary(h => h.Name);
        _shared = heads.First(h => h.Task == ServingTask.Embed);
    }

    public string Name { get; }
    public Device Device { get; }
    public Tokenizer Tokenizer { get; }
    public IReadOnlyCollection<ReplicaHead> Heads => _heads.Values;
    public PretrainedConfig Config => _encoder.Config;

    /// <summary>How many encoder forward passes ran (a batch that mixes heads on the shared encoder counts one).</summary>
    public long EncoderPasses { get; private set; }

    public ReplicaHead? Find(string name) => _heads.GetValueOrDefault(name);

    /// <summary>Loads the definition's directories onto <paramref name="device"/>; <paramref name="dtype"/> (bf16 or
    /// fp16 on CUDA) converts the weights. Errors name the directory.</summary>
    public static ModelReplica Load(ModelDefinition definition, Device device, ScalarType? dtype = null)
    {
        var heads = new List<ReplicaHead>();
        var root = Path.GetFullPath(definition.Directory);
        var tokenizer = AutoTokenizer.FromPretrained(root);
        var config = Pretrained.LoadConfig(root);
        var own = HeadOf(config, root) switch
        {
            Model.Tasks.Head.PreTraining or Model.Tasks.Head.MaskedLM => Model.Tasks.Head.MaskedLM, // RoCBert's pretraining head is a masked LM under the same names
            Model.Tasks.Head.CausalLM or null => Model.Tasks.Head.Base,
            var h => h.Value,
        };
        var encoder = Prepare(TaskModel.FromPretrained(root, own, out _, device, dtype));
        try
        {
            heads.Add(new ReplicaHead(ServingTask.Embed.Name(), ServingTask.Embed, encoder, sharesEncoder: true, ownsModel: false) { Tokenizer = tokenizer });
            if (ServingTasks.Of(own) is { } ownTask)
                heads.Add(new ReplicaHead(ownTask.Name(), ownTask, encoder, sharesEncoder: true, ownsModel: false) { Tokenizer = tokenizer });
            foreach (var head in definition.Heads)
            {
                ModelDefinition.ValidateName(head.Name, "head");
                if (heads.Any(h => h.Name == head.Name))
                    throw new ArgumentException($"model {definition.Name}: head name '{head.Name}' is taken (heads: {string.Join(", ", heads.Select(h => h.Name))})");
                heads.Add(LoadHead(head, root, config, tokenizer, device, dtype));
            }
            return new ModelReplica(definition.Name, encoder, tokenizer, device, heads);
        }
        catch
        {
            foreach (var h in heads) h.Dispose();
            encoder.Dispose();
            throw;
        }
    }

    static ReplicaHead LoadHead(HeadDefinition head, string root, PretrainedConfig encoderConfig, Tokenizer tokenizer, Device device, ScalarType? dtype)
    {
        var dir = Path.GetFullPath(head.Directory);
        if (!Directory.Exists(dir)) throw new CheckpointException($"head {head.Name}: no directory {dir}");
        var config = Pretrained.LoadConfig(dir);
        var kind = HeadOf(config, dir) ?? throw new CheckpointException($"{dir}: config.json names no architectures, so the head's task is unknown");
        var task = ServingTasks.Of(kind) ?? throw new CheckpointException($"{dir}: a {kind.Name()} head serves no task (served: fill-mask, sequence-classification, token-classification, question-answering, multiple-choice)");
        if (config.model_type != encoderConfig.model_type)
            throw new CheckpointException($"{dir}: a {config.model_type} head cannot run on the model's {encoderConfig.model_type} encoder");
        var reference = EncoderReference.Of(config);
        var shares = reference is not null
            && Path.GetFullPath(Path.IsPathRooted(reference.Path) ? reference.Path : Path.Combine(dir, reference.Path)) == root;
        var model = Prepare(TaskModel.FromPretrained(dir, kind, out _, device, dtype));
        if (shares && encoderConfig.hidden_size != model.Config.hidden_size)
        {
            model.Dispose();
            throw new CheckpointException($"{dir}: hidden size {model.Config.hidden_size} differs from the encoder's {encoderConfig.hidden_size}");
        }
        var result = new ReplicaHead(head.Name, task, model, shares, ownsModel: true)
        {
            Tokenizer = shares || !File.Exists(Path.Combine(dir, "tokenizer_config.json")) && !HasTokenizerFiles(dir) ? tokenizer : AutoTokenizer.FromPretrained(dir),
        };
        if (shares) result.DropEncoderWeights();
        return result;
    }

    static bool HasTokenizerFiles(string dir) => File.Exists(Path.Combine(dir, "vocab.json")) || File.Exists(Path.Combine(dir, "vocab.txt"));

    static TaskModel Prepare(TaskModel model)
    {
        model.Module.eval();
        foreach (var p in model.Module.parameters()) p.requires_grad_(false);
        return model;
    }

    static Head? HeadOf(PretrainedConfig config, string dir)
    {
        if (Model.Tasks.Heads.SavedArchitecture(config) is not { } name) return null;
        return Model.Tasks.Heads.FromArchitecture(name) ?? throw new CheckpointException($"{dir}: architecture {name} is not a RoBERTa or RoCBert class");
    }

    /// <summary>Runs a batch: each distinct encoder once over the rows of every item that uses it (padded to their
    /// longest), then each head once over its rows. Returns each item's row outputs, in order.</summary>
    public IReadOnlyList<IReadOnlyList<RowOutput>> Run(IReadOnlyList<WorkItem> items)
    {
        var results = new IReadOnlyList<RowOutput>[items.Count];
        using var scope = torch.NewDisposeScope();
        using var inference = torch.inference_mode();
        var indexed = items.Select((item, index) => (item, index)).ToList();
        foreach (var group in indexed.GroupBy(x => x.item.Head.SharesEncoder ? _shared : x.item.Head))
        {
            var byHead = group.GroupBy(x => x.item.Head).ToList(); // each head's rows contiguous
            var rows = byHead.SelectMany(h => h.SelectMany(x => x.item.Rows)).ToList();
            if (rows.Count == 0)
            {
                foreach (var (_, index) in group) results[index] = [];
                continue;
            }
            var (input, mask) = Inputs(rows, group.Key.Tokenizer.PadTokenId);
            var hidden = group.Key.Encode(input).last_hidden_state;
            EncoderPasses++;
            var offset = 0;
            foreach (var head in byHead)
            {
                var headRows = head.SelectMany(x => x.item.Rows).ToList();
                if (headRows.Count == 0)
                {
                    foreach (var (_, index) in head) results[index] = [];
                    continue;
                }
                var outputs = head.Key.Apply(hidden.narrow(0, offset, headRows.Count), mask.narrow(0, offset, headRows.Count), headRows, head.Max(x => x.item.TopK));
                var next = 0;
                foreach (var (item, index) in head)
                {
                    results[index] = outputs.GetRange(next, item.Rows.Count).Select(o => TrimTopK(o, item, head.Max(x => x.item.TopK))).ToList();
                    next += item.Rows.Count;
                }
                offset += headRows.Count;
            }
        }
        return results;
    }

    /// <summary>Fill-mask ran with the batch's largest k: each item keeps its own first k per mask (they are sorted).</summary>
    static RowOutput TrimTopK(RowOutput output, WorkItem item, int ran)
    {
        if (output.Ids is null || item.TopK >= ran || ran == 0) return output;
        var masks = output.Values.Length / ran;
        var values = new float[masks * item.TopK];
        var ids = new int[masks * item.TopK];
        for (var m = 0; m < masks; m++)
        {
            Array.Copy(output.Values, m * ran, values, m * item.TopK, item.TopK);
            Array.Copy(output.Ids, m * ran, ids, m * item.TopK, item.TopK);
        }
        return new RowOutput(values, ids);
    }

    (EncoderInput input, Tensor mask) Inputs(IReadOnlyList<EncodedRow> rows, int padId)
    {
        var length = rows.Max(r => r.Length);
        var n = rows.Count;
        long[] Filled(Func<EncodedRow, int[]?> field, long pad)
        {
            var values = new long[n * length];
            Array.Fill(values, pad);
            for (var i = 0; i < n; i++)
                if (field(rows[i]) is { } row)
                    for (var t = 0; t < row.Length; t++) values[i * length + t] = row[t];
            return values;
        }
        Tensor Ids(long[] values) => torch.tensor(values, [n, length]).to(Device);
        var mask = Ids(Filled(r => Enumerable.Repeat(1, r.Length).ToArray(), 0));
        var first = rows[0];
        var input = new EncoderInput(Ids(Filled(r => r.InputIds, padId)))
        {
            attention_mask = mask,
            skip_padding = true, // a batch of mixed lengths costs its real tokens (the heads read attended positions only)
            token_type_ids = Ids(Filled(r => r.TokenTypeIds, 0)),
            input_shape_ids = first.ShapeIds is null ? null : Ids(Filled(r => r.ShapeIds, padId)),
            input_pronunciation_ids = first.PronunciationIds is null ? null : Ids(Filled(r => r.PronunciationIds, padId)),
        };
        return (input, mask);
    }

    public void Dispose()
    {
        foreach (var head in _heads.Values) head.Dispose();
        _encoder.Dispose();
    }
}
