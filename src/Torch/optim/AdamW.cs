using Cluster.Torch.Native;
using static Cluster.Torch.torch.nn;

namespace Cluster.Torch.Optim;

/// <summary>A set of parameters sharing hyper-parameters; the scheduler changes <see cref="lr"/> in place.</summary>
public sealed class ParamGroup(IReadOnlyList<Parameter> parameters, double lr, double weight_decay)
{
    public IReadOnlyList<Parameter> parameters { get; } = parameters;
    public double lr { get; set; } = lr;
    /// <summary>The lr the group started with; schedules multiply it.</summary>
    public double initial_lr { get; } = lr;
    public double weight_decay { get; set; } = weight_decay;
}

/// <summary>
/// torch.optim.AdamW: Adam with decoupled weight decay and bias correction. Moment estimates live
/// in tensors the optimizer owns (freed by Dispose); each parameter's update is one native call.
/// </summary>
public sealed class AdamW : IDisposable
{
    private sealed class State(Tensor exp_avg, Tensor exp_avg_sq)
    {
        public readonly Tensor exp_avg = exp_avg;
        public readonly Tensor exp_avg_sq = exp_avg_sq;
        public long step;
    }

    private readonly Dictionary<Parameter, State> state = new(ReferenceEqualityComparer.Instance);
    private Flat? flat;

    public AdamW(IEnumerable<ParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        param_groups = groups.ToList();
        if (param_groups.Count == 0) throw new ArgumentException("AdamW needs at least one parameter group", nameof(groups));
        var all = param_groups.SelectMany(g => g.parameters).ToList();
        if (all.Distinct(ReferenceEqualityComparer.Instance).Count() != all.Count)
            throw new ArgumentException("a parameter appears in more than one group", nameof(groups));
        (this.beta1, this.beta2, this.eps) = (beta1, beta2, eps);
    }

    public AdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, double weight_decay = 1e-2, double beta1 = 0.9,
        double beta2 = 0.999, double eps = 1e-8)
        : this([new ParamGroup(parameters.ToList(), lr, weight_decay)], beta1, beta2, eps) { }

    public IReadOnlyList<ParamGroup> param_groups { get; }
    public double beta1 { get; }
    public double beta2 { get; }
    public double eps { get; }

    /// <summary>
    /// Two groups as Hugging Face's Trainer makes them: decay for weights, none for biases and for
    /// LayerNorm parameters (found by module type, so any naming works).
    /// </summary>
    public static IReadOnlyList<ParamGroup> GroupsWithoutDecayOnBiasAndNorm(Module model, double lr, double weight_decay)
    {
        var noDecay = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        foreach (var (_, m) in model.named_modules())
            if (m is LayerNorm)
                foreach (var (_, p) in m.named_parameters()) noDecay.Add(p);
        foreach (var (name, p) in model.named_parameters())
            if (name == "bias" || name.EndsWith(".bias", StringComparison.Ordinal)) noDecay.Add(p);
        var all = model.named_parameters().Select(np => np.parameter).ToList();
        return
        [
            new ParamGroup(all.Where(p => !noDecay.Contains(p)).ToList(), lr, weight_decay),
            new ParamGroup(all.Where(p => noDecay.Contains(p)).ToList(), lr, 0.0),
        ];
    }

    /// <summary>Steps taken for <paramref name="p"/> (0 before its first gradient).</summary>
    public long StepCount(Parameter p) => state.TryGetValue(p, out var s) ? s.step : 0;

    public void step()
    {
        foreach (var group in param_groups)
            foreach (var p in group.parameters)
            {
                using var scope = torch.NewDisposeScope();
                using var g = p.grad;
                if (g is null) continue;
                var s = StateOf(p);
                s.step++;
                TorchException.Check(LibTorch.ct_adamw_step(p.Handle, s.exp_avg.Handle, s.exp_avg_sq.Handle, group.lr, beta1,
                    beta2, eps, group.weight_decay, s.step));
            }
    }

    private State StateOf(Parameter p)
    {
        if (state.TryGetValue(p, out var s)) return s;
        s = flat is not null && flat.Slots.TryGetValue(p, out var slot)
            ? new State(flat.View(flat.ExpAvg, slot, p), flat.View(flat.ExpAvgSq, slot, p)) // views: the flat step updates them
            : new State(torch.zeros_like(p).DetachFromDisposeScope(), torch.zeros_like(p).DetachFromDisposeScope());
        state[p] = s;
        return s;
    }

    /// <summary>The buffers of <see cref="flatten"/>: parameters, moments and the weight-decay mask, one element per
    /// element of the flattened parameters, in their order.</summary>
    private sealed class Flat(Tensor parameters, Tensor expAvg, Tensor expAvgSq, Tensor? decay, double weightDecay,
                              IReadOnlyList<Parameter> order, Dictionary<Parameter, (long Offset, long Count)> slots) : IDisposable
    {
        public Tensor Parameters { get; } = parameters;
        public Tensor ExpAvg { get; } = expAvg;
        public Tensor ExpAvgSq { get; } = expAvgSq;
        public Tensor? Decay { get; } = decay;
        public double WeightDecay { get; } = weightDecay;
        public IReadOnlyList<Parameter> Order { get; } = order;
        public Dictionary<Parameter, (long Offset, long Count)> Slots { get; } = slots;

        public Tensor View(Tensor buffer, (long Offset, long Count) slot, Parameter p)
        {
            using var scope = torch.NewDisposeScope();
            return scope.MoveToOuter(buffer.narrow(0, slot.Offset, slot.Count).view(p.shape))!.DetachFromDisposeScope();
        }

        public void Dispose()
        {
            Parameters.Dispose();
            ExpAvg.Dispose();
            ExpAvgSq.Dispose();
            Decay?.Dispose();
        }
    }

    /// <summary>
    /// Makes the parameters of <paramref name="order"/> (float32, on one device) views of one contiguous buffer, values
    /// kept, with moments laid out alike, so that <see cref="step_flat"/> updates all of them in a few kernels from a
    /// gradient buffer of that layout: a data-parallel replica's reduced gradients. Every element gets the arithmetic
    /// of <see cref="step"/>. Their groups must share one learning rate and at most one non-zero weight decay. Before
    /// any step; the module's other parameters (frozen ones) are left as they are.
    /// </summary>
    public void flatten(IReadOnlyList<Parameter> order)
    {
        if (flat is not null) throw new InvalidOperationException("the parameters are flattened already");
        if (state.Count > 0) throw new InvalidOperationException("flatten before the first step");
        if (order.Count == 0) throw new ArgumentException("nothing to flatten", nameof(order));
        if (param_groups.Select(g => g.initial_lr).Distinct().Count() > 1)
            throw new ArgumentException("flattened parameters step with one learning rate; the groups have several");
        var groupOf = new Dictionary<Parameter, ParamGroup>(ReferenceEqualityComparer.Instance);
        foreach (var g in param_groups) foreach (var p in g.parameters) groupOf[p] = g;
        var decays = order.Select(p => groupOf.TryGetValue(p, out var g) ? g.weight_decay
            : throw new ArgumentException("a parameter to flatten is in no group of this optimizer", nameof(order))).ToArray();
        var nonZero = decays.Where(d => d != 0).Distinct().ToArray();
        if (nonZero.Length > 1) throw new ArgumentException($"flattened parameters take one weight decay; the groups have {string.Join(", ", nonZero)}");
        var device = order[0].device;
        if (order.Any(p => p.dtype != ScalarType.Float32 || p.device != device))
            throw new ArgumentException($"flattened parameters are float32 on one device (the first is on {device})");

        var slots = new Dictionary<Parameter, (long, long)>(ReferenceEqualityComparer.Instance);
        long total = 0;
        foreach (var p in order)
        {
            if (!slots.TryAdd(p, (total, p.numel()))) throw new ArgumentException("a parameter appears twice in the order", nameof(order));
            total += p.numel();
        }
        var parameters = torch.zeros([total], ScalarType.Float32, device).DetachFromDisposeScope();
        using (var scope = torch.NewDisposeScope())
        using (torch.no_grad())
            foreach (var p in order)
            {
                var (offset, count) = slots[p];
                var slot = parameters.narrow(0, offset, count);
                slot.copy_(p.reshape(-1));
                p.set_data(slot.view(p.shape)); // the parameter's storage is now the buffer's
            }
        Tensor? decay = null;
        if (nonZero.Length == 1)
        {
            var mask = new bool[total];
            for (var i = 0; i < order.Count; i++)
                if (decays[i] != 0) Array.Fill(mask, true, checked((int)slots[order[i]].Item1), checked((int)slots[order[i]].Item2));
            using var scope = torch.NewDisposeScope();
            decay = scope.MoveToOuter(torch.tensor(mask, [total]).to(device))!.DetachFromDisposeScope();
        }
        flat = new Flat(parameters, torch.zeros([total], ScalarType.Float32, device).DetachFromDisposeScope(),
            torch.zeros([total], ScalarType.Float32, device).DetachFromDisposeScope(), decay, nonZero.FirstOrDefault(), order.ToArray(), slots);
    }

    /// <summary>The elements <see cref="flatten"/> laid out.</summary>
    public long flat_elements => flat?.Parameters.numel() ?? 0;

    /// <summary>One AdamW step of every flattened parameter from <paramref name="gradients"/>, laid out as they are
    /// (what <see cref="step"/> does with each parameter's <c>.grad</c>, in a few kernels). All of them step together:
    /// one step count.</summary>
    public void step_flat(Tensor gradients)
    {
        var f = flat ?? throw new InvalidOperationException("step_flat needs flatten first");
        if (gradients.numel() != f.Parameters.numel())
            throw new ArgumentException($"{gradients.numel()} gradients for {f.Parameters.numel()} flattened elements");
        var step = StepCount(f.Order[0]) + 1;
        foreach (var p in f.Order) StateOf(p).step = step;
        TorchException.Check(LibTorch.ct_adamw_step_flat(f.Parameters.Handle, gradients.Handle, f.ExpAvg.Handle, f.ExpAvgSq.Handle,
            f.Decay?.Handle ?? TensorHandle.Null, param_groups[0].lr, beta1, beta2, eps, f.WeightDecay, step));
    }

    /// <summary>The moments and step counts of the named parameters that have taken a step, as PyTorch's optimizer
    /// state_dict holds them, keyed <c>NAME.exp_avg</c>, <c>NAME.exp_avg_sq</c> and <c>NAME.step</c> (an int64 scalar).
    /// The tensors are copies in the caller's DisposeScope.</summary>
    public OrderedDictionary<string, Tensor> state_dict(IEnumerable<(string name, Parameter parameter)> named)
    {
        var result = new OrderedDictionary<string, Tensor>();
        foreach (var (name, p) in named)
        {
            if (!state.TryGetValue(p, out var s)) continue;
            result[$"{name}.exp_avg"] = s.exp_avg.clone();
            result[$"{name}.exp_avg_sq"] = s.exp_avg_sq.clone();
            result[$"{name}.step"] = torch.tensor(new[] { s.step }, []);
        }
        return result;
    }

    /// <summary>Restores what <see cref="state_dict"/> wrote; a parameter without entries starts fresh. Throws
    /// ArgumentException naming a key of the wrong shape, a partial entry, or one for no parameter.</summary>
    public void load_state_dict(IEnumerable<(string name, Parameter parameter)> named, IReadOnlyDictionary<string, Tensor> source)
    {
        var byName = named.ToDictionary(np => np.name, np => np.parameter);
        var unknown = source.Keys.Select(k => k[..Math.Max(0, k.LastIndexOf('.'))]).Distinct().Where(n => !byName.ContainsKey(n)).ToList();
        if (unknown.Count > 0) throw new ArgumentException($"optimizer state for unknown parameters: {string.Join(", ", unknown.Take(5))}");
        foreach (var (name, p) in byName)
        {
            var present = new[] { "exp_avg", "exp_avg_sq", "step" }.Count(f => source.ContainsKey($"{name}.{f}"));
            if (present == 0) continue;
            if (present != 3) throw new ArgumentException($"optimizer state of {name} is incomplete (it needs exp_avg, exp_avg_sq and step)");
            var (avg, avgSq, step) = (source[$"{name}.exp_avg"], source[$"{name}.exp_avg_sq"], source[$"{name}.step"]);
            if (!avg.shape.SequenceEqual(p.shape) || !avgSq.shape.SequenceEqual(p.shape))
                throw new ArgumentException($"optimizer state of {name} has shape [{string.Join(", ", avg.shape)}], the parameter [{string.Join(", ", p.shape)}]");
            var s = StateOf(p);
            using (torch.no_grad())
            {
                s.exp_avg.copy_(avg);
                s.exp_avg_sq.copy_(avgSq);
            }
            s.step = step.to(ScalarType.Int64).item<long>();
        }
        if (flat is not null && flat.Order.Select(StepCount).Distinct().Count() > 1)
            throw new ArgumentException("the optimizer state's step counts differ between flattened parameters, which step together");
    }

    public void zero_grad()
    {
        foreach (var p in param_groups.SelectMany(g => g.parameters)) p.clear_grad();
    }

    public void Dispose()
    {
        foreach (var s in state.Values)
        {
            s.exp_avg.Dispose();
            s.exp_avg_sq.Dispose();
        }
        state.Clear();
        flat?.Dispose();
        flat = null;
    }
}
