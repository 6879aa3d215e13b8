using Cluster.Model.Configuration;
using Cluster.Torch;
using static Cluster.Torch.torch.nn;

namespace Cluster.Model.Encoder;

public sealed record EncoderResult(Tensor last_hidden_state, List<Tensor>? hidden_states, List<Tensor>? attentions,
    List<Tensor>? cross_attentions, KeyValueCache? cache);

/// <summary>The stack of layers (HF's *Encoder; its ModuleList is "layer").</summary>
public sealed class Encoder : Module
{
    public readonly ModuleList<Layer> layer;

    public Encoder(PretrainedConfig config)
    {
        layer = new ModuleList<Layer>(Enumerable.Range(0, config.num_hidden_layers).Select(_ => new Layer(config)));
        RegisterComponents();
    }

    /// <param name="headMask">(layers, 1, nh, 1, 1) or null.</param>
    public EncoderResult forward(Tensor hidden, Tensor? mask, Tensor? headMask, Tensor? encoderHidden, Tensor? encoderMask,
        KeyValueCache? past, bool useCache, bool outputAttentions, bool outputHiddenStates, TokenPacking? packing = null)
    {
        var all = outputHiddenStates ? new List<Tensor>() : null;
        var attentions = outputAttentions ? new List<Tensor>() : null;
        var cross = outputAttentions && encoderHidden is not null ? new List<Tensor>() : null;
        var presents = useCache ? new List<LayerKeyValues>() : null;
        for (int i = 0; i < layer.Count; i++)
        {
            all?.Add(hidden);
            // Each layer frees its intermediates when it ends, as Python's reference counting would:
            // holding all of them to the end of the caller's scope costs memory and, worse, page faults
            // on every pass. Autograd keeps its own references to what backward needs.
            using var scope = torch.NewDisposeScope();
            var r = layer[i].forward(hidden, mask, headMask?[i], encoderHidden, encoderMask, past?.layers[i], outputAttentions, packing);
            hidden = scope.MoveToOuter(r.hidden_states)!;
            if (r.self_probs is not null) attentions?.Add(scope.MoveToOuter(r.self_probs)!);
            if (r.cross_probs is not null) cross?.Add(scope.MoveToOuter(r.cross_probs)!);
            if (r.present is { } kv)
                presents?.Add(new LayerKeyValues(scope.MoveToOuter(kv.self_key)!, scope.MoveToOuter(kv.self_value)!,
                    scope.MoveToOuter(kv.cross_key), scope.MoveToOuter(kv.cross_value)));
        }
        all?.Add(hidden);
        return new EncoderResult(hidden, all, attentions, cross, presents is null ? null : new KeyValueCache(presents));
    }
}

/// <summary>tanh(dense(first token)): the sentence vector BERT-style heads use.</summary>
public sealed class Pooler : Module
{
    public readonly Linear dense;

    public Pooler(PretrainedConfig config)
    {
        dense = new Linear(config.hidden_size, config.hidden_size);
        RegisterComponents();
    }

    public Tensor forward(Tensor hidden) => dense.call(hidden.select(1, 0)).tanh();
}
