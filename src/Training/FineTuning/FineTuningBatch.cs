using Cluster.Model.Tasks;
using Cluster.Torch;
using Cluster.Training.Batching;

namespace Cluster.Training.FineTuning;

/// <summary>A fine-tuning micro-batch on the host: every feature's rows padded to the longest (the data collator's
/// dynamic padding: pad id, attention 0, token type 0, label -100) or to a fixed length, multiple choice as
/// (examples, choices, length).
/// <see cref="ToTensors"/> makes the model's inputs and the targets.</summary>
public sealed class FineTuningBatch
{
    FineTuningBatch(Head head, Feature[] features, int padId, int minLength)
    {
        (Head, Features) = (head, features);
        Choices = features[0].Rows.Length;
        if (features.Any(f => f.Rows.Length != Choices)) throw new ArgumentException("the features of a batch have differing numbers of rows");
        Length = Math.Max(minLength, features.SelectMany(f => f.Rows).Max(r => r.Length));
        var rows = features.Length * Choices;
        var first = features[0].Rows[0];
        InputIds = Filled(rows * Length, padId);
        AttentionMask = new int[rows * Length];
        TokenTypeIds = first.TokenTypeIds is null ? null : new int[rows * Length];
        ShapeIds = first.ShapeIds is null ? null : Filled(rows * Length, padId);
        PronunciationIds = first.PronunciationIds is null ? null : Filled(rows * Length, padId);
        TokenLabels = head == Head.TokenClassification ? Filled(rows * Length, FeatureEncoder.IgnoreIndex) : null;
        var r = 0;
        foreach (var feature in features)
            foreach (var row in feature.Rows)
            {
                var at = r++ * Length;
                row.InputIds.CopyTo(InputIds, at);
                AttentionMask.AsSpan(at, row.Length).Fill(1);
                row.TokenTypeIds?.CopyTo(TokenTypeIds!, at);
                row.ShapeIds?.CopyTo(ShapeIds!, at);
                row.PronunciationIds?.CopyTo(PronunciationIds!, at);
                feature.TokenLabels?.CopyTo(TokenLabels!, at);
            }
        RealTokens = features.SelectMany(f => f.Rows).Sum(row => (long)row.Length);
    }

    public Head Head { get; }
    public Feature[] Features { get; }
    /// <summary>Rows per feature: the endings of multiple choice, else 1.</summary>
    public int Choices { get; }
    public int Length { get; }
    public int[] InputIds { get; }
    public int[] AttentionMask { get; }
    public int[]? TokenTypeIds { get; }
    public int[]? ShapeIds { get; }
    public int[]? PronunciationIds { get; }
    /// <summary>Token classification's labels, -100 on padding.</summary>
    public int[]? TokenLabels { get; }
    public long RealTokens { get; }

    /// <param name="minLength">the length rows are padded to at least: question answering's max length, as run_qa pads
    /// (its start and end losses run over every position, padding included, so only a fixed length makes them
    /// independent of how features are batched)</param>
    public static FineTuningBatch Build(Head head, IReadOnlyList<Feature> features, int padId, int minLength = 0) =>
        features.Count > 0 ? new FineTuningBatch(head, features.ToArray(), padId, minLength) : throw new ArgumentException("a batch needs a feature");

    /// <summary>The model's inputs (int64, on <paramref name="device"/>, in the caller's DisposeScope).</summary>
    public Dictionary<string, Tensor> ToTensors(Device device)
    {
        Tensor Ids(int[] values)
        {
            var t = HostIds.ToTensor(values, Features.Length * Choices, Length, device);
            return Head == Head.MultipleChoice ? t.view(Features.Length, Choices, Length) : t;
        }
        var inputs = new Dictionary<string, Tensor> { ["input_ids"] = Ids(InputIds), ["attention_mask"] = Ids(AttentionMask) };
        if (TokenTypeIds is not null) inputs["token_type_ids"] = Ids(TokenTypeIds);
        if (ShapeIds is not null) inputs["input_shape_ids"] = Ids(ShapeIds);
        if (PronunciationIds is not null) inputs["input_pronunciation_ids"] = Ids(PronunciationIds);
        return inputs;
    }

    /// <summary>Each feature's class (sequence classification, multiple choice), as int64 on the device.</summary>
    public Tensor ClassIds(Device device) => torch.tensor(Features.Select(f => (long)f.ClassId).ToArray(), [Features.Length]).to(device);

    /// <summary>Multi-hot or regression targets, (features, labels) float32.</summary>
    public Tensor Targets(Device device)
    {
        var width = Features[0].Targets?.Length ?? throw new InvalidOperationException("these features carry no float targets");
        return torch.tensor(Features.SelectMany(f => f.Targets!).ToArray(), [Features.Length, width]).to(device);
    }

    public Tensor TokenLabelTensor(Device device) => HostIds.ToTensor(TokenLabels!, Features.Length, Length, device);

    public (Tensor Start, Tensor End) Positions(Device device) =>
        (torch.tensor(Features.Select(f => (long)f.StartPosition).ToArray(), [Features.Length]).to(device),
         torch.tensor(Features.Select(f => (long)f.EndPosition).ToArray(), [Features.Length]).to(device));

    static int[] Filled(int length, int value)
    {
        var a = new int[length];
        Array.Fill(a, value);
        return a;
    }
}
