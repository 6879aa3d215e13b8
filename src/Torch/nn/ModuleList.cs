using System.Collections;

namespace Cluster.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>Submodules registered as "0", "1", … (HF's <c>encoder.layer.{i}</c>).</summary>
        public sealed class ModuleList<T> : Module, IReadOnlyList<T> where T : Module
        {
            private readonly List<T> items = new();

            public ModuleList(IEnumerable<T>? modules = null)
            {
                if (modules != null)
                    foreach (var m in modules) Add(m);
            }

            public void Add(T module)
            {
                register_module(items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
                items.Add(module);
            }

            public T this[int index] => items[index];

            public int Count => items.Count;

            public IEnumerator<T> GetEnumerator() => items.GetEnumerator();

            IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
        }
    }
}
