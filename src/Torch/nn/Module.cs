using System.Reflection;

namespace Cluster.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>What a non-strict load_state_dict found: keys the module lacked, and keys the dictionary lacked.</summary>
        public sealed record LoadResult(IReadOnlyList<string> missing_keys, IReadOnlyList<string> unexpected_keys)
        {
            /// <summary>Keys whose checkpoint shape differed and that kept their fresh initialisation
            /// (from_pretrained's ignore_mismatched_sizes).</summary>
            public IReadOnlyList<string> mismatched_keys { get; init; } = [];
        }

        /// <summary>
        /// The base of every layer and model: named submodules, parameters and buffers whose dotted paths
        /// are the state-dict keys (so naming fields as Hugging Face does makes checkpoints map directly).
        /// </summary>
        public abstract class Module : IDisposable
        {
            private readonly OrderedDictionary<string, Module> ownModules = new();
            private readonly OrderedDictionary<string, Parameter?> ownParameters = new();
            private readonly OrderedDictionary<string, Tensor> ownBuffers = new();
            private readonly HashSet<string> nonPersistent = new();
            private bool disposed;

            public bool training { get; private set; } = true;

            // ---- registration ----

            protected T register_module<T>(string name, T module) where T : Module
            {
                CheckName(name);
                ownModules[name] = module;
                return module;
            }

            protected Parameter? register_parameter(string name, Parameter? parameter)
            {
                CheckName(name);
                ownParameters[name] = parameter;
                return parameter;
            }

            /// <summary>Points an already registered parameter name at another Parameter (weight tying).</summary>
            protected void replace_parameter(string name, Parameter parameter)
            {
                if (!ownParameters.ContainsKey(name))
                    throw new ArgumentException($"{GetType().Name} has no parameter '{name}' to replace", nameof(name));
                ownParameters[name] = parameter;
            }

            /// <summary>A tensor that is state but not trained; non-persistent buffers stay out of state_dict.</summary>
            protected Tensor register_buffer(string name, Tensor buffer, bool persistent = true)
            {
                CheckName(name);
                buffer.DetachFromDisposeScope();
                ownBuffers[name] = buffer;
                if (!persistent) nonPersistent.Add(name);
                return buffer;
            }

            /// <summary>Registers every Module and Parameter field of the concrete class under its field name.</summary>
            protected void RegisterComponents()
            {
                const BindingFlags flags = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
                // base classes first, so that a model's body precedes its heads as in PyTorch
                var chain = new List<Type>();
                for (var type = GetType(); type != null && type != typeof(Module); type = type.BaseType) chain.Insert(0, type);
                foreach (var type in chain)
                    foreach (var field in type.GetFields(flags))
                    {
                        var name = field.Name.StartsWith('<') ? field.Name[1..field.Name.IndexOf('>')] : field.Name;
                        switch (field.GetValue(this))
                        {
                            case Module m when !ownModules.ContainsKey(name): register_module(name, m); break;
                            case Parameter p when !ownParameters.ContainsKey(name): register_parameter(name, p); break;
                        }
                    }
            }

            private void CheckName(string name)
            {
                if (string.IsNullOrEmpty(name) || name.Contains('.'))
                    throw new ArgumentException($"'{name}' is not a valid member name (non-empty, no dots)", nameof(name));
                if (ownModules.ContainsKey(name) || ownParameters.ContainsKey(name) || ownBuffers.ContainsKey(name))
                    throw new ArgumentException($"'{name}' is already registered on {GetType().Name}", nameof(name));
            }

            // ---- traversal ----

            public IEnumerable<(string name, Module module)> named_children() => ownModules.Select(kv => (kv.Key, kv.Value));

            public IEnumerable<(string name, Module module)> named_modules(string prefix = "")
            {
                yield return (prefix, this);
                foreach (var (name, child) in ownModules)
                    foreach (var entry in child.named_modules(Join(prefix, name)))
                        yield return entry;
            }

            public IEnumerable<(string name, Parameter parameter)> named_parameters(bool recurse = true)
            {
                var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
                foreach (var (prefix, module) in recurse ? named_modules() : [("", this)])
                    foreach (var (name, p) in module.ownParameters)
                        if (p is not null && seen.Add(p)) // tied weights appear once, under their first name
                            yield return (Join(prefix, name), p);
            }

            public IEnumerable<Parameter> parameters() => named_parameters().Select(np => np.parameter);

            public IEnumerable<(string name, Tensor buffer)> named_buffers(bool persistentOnly = false)
            {
                foreach (var (prefix, module) in named_modules())
                    foreach (var (name, b) in module.ownBuffers)
                        if (!persistentOnly || !module.nonPersistent.Contains(name))
                            yield return (Join(prefix, name), b);
            }

            private static string Join(string prefix, string name) => prefix.Length == 0 ? name : $"{prefix}.{name}";

            public long num_parameters(bool only_trainable = false) =>
                named_parameters().Where(np => !only_trainable || np.parameter.requires_grad).Sum(np => np.parameter.numel());

            // ---- state ----

            /// <summary>
            /// Parameters and persistent buffers by dotted name, including a tied weight under each name
            /// it is reachable by. The tensors are the module's own: do not dispose them.
            /// </summary>
            public OrderedDictionary<string, Tensor> state_dict()
            {
                var result = new OrderedDictionary<string, Tensor>();
                foreach (var (prefix, module) in named_modules())
                {
                    foreach (var (name, p) in module.ownParameters)
                        if (p is not null) result[Join(prefix, name)] = p;
                    foreach (var (name, b) in module.ownBuffers)
                        if (!module.nonPersistent.Contains(name)) result[Join(prefix, name)] = b;
                }
                return result;
            }

            /// <summary>
            /// Copies values in by name (converting dtype and device). Shapes must match; with strict, a
            /// missing or unexpected key is an error that names every such key.
            /// </summary>
            public LoadResult load_state_dict(IReadOnlyDictionary<string, Tensor> source, bool strict = true)
            {
                var own = state_dict();
                var missing = own.Keys.Where(k => !source.ContainsKey(k)).ToList();
                var unexpected = source.Keys.Where(k => !own.ContainsKey(k)).ToList();
                if (strict && (missing.Count > 0 || unexpected.Count > 0))
                    throw new TorchException("load_state_dict: " +
                        (missing.Count > 0 ? $"missing keys [{string.Join(", ", missing)}]" : "") +
                        (missing.Count > 0 && unexpected.Count > 0 ? "; " : "") +
                        (unexpected.Count > 0 ? $"unexpected keys [{string.Join(", ", unexpected)}]" : ""));
                foreach (var (key, target) in own)
                {
                    if (!source.TryGetValue(key, out var value)) continue;
                    var (want, got) = (target.shape, value.shape);
                    if (!want.SequenceEqual(got))
                        throw new TorchException($"load_state_dict: '{key}' has shape [{string.Join(", ", got)}] in the source " +
                                                 $"but [{string.Join(", ", want)}] in the model");
                }
                using (no_grad())
                    foreach (var (key, target) in own)
                        if (source.TryGetValue(key, out var value)) target.copy_(value);
                return new LoadResult(missing, unexpected);
            }

            // ---- modes and placement ----

            public Module train(bool mode = true)
            {
                foreach (var (_, m) in named_modules()) m.training = mode;
                return this;
            }

            public Module eval() => train(false);

            /// <summary>Moves parameters and buffers; a dtype converts floating-point ones only, as PyTorch does.</summary>
            public Module to(Device device, ScalarType? dtype = null)
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                foreach (var (_, t) in named_parameters().Select(np => (np.name, (Tensor)np.parameter)).Concat(named_buffers()))
                {
                    var target = dtype.HasValue && t.dtype.IsFloatingPoint() ? dtype.Value : t.dtype;
                    if (t.device != device || t.dtype != target) t.set_data(t.to(target, device));
                }
                return this;
            }

            public Module to(ScalarType dtype) => to(parameters().FirstOrDefault()?.device ?? Device.CPU, dtype);

            /// <summary>Drops every gradient (set-to-none, PyTorch's default).</summary>
            public void zero_grad()
            {
                foreach (var p in parameters()) p.clear_grad();
            }

            public void Dispose()
            {
                if (disposed) return;
                disposed = true;
                foreach (var (_, m) in ownModules) m.Dispose();
                foreach (var (_, p) in ownParameters) p?.Dispose();
                foreach (var (_, b) in ownBuffers) b.Dispose();
                GC.SuppressFinalize(this);
            }
        }

        /// <summary>A module with one input and one output, called like PyTorch's: <c>layer.call(x)</c>.</summary>
        public abstract class Module<TIn, TOut> : Module
        {
            public abstract TOut forward(TIn input);

            public TOut call(TIn input) => forward(input);
        }
    }
}
