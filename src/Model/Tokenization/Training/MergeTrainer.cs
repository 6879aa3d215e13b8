namespace Cluster.Model.Tokenization.Training;

/// <summary>
/// The BPE training loop both trainers share: words are sequences of symbols with counts; repeatedly the most
/// frequent adjacent pair (ties: the pair of earliest symbols, as HF's trainer breaks them) becomes a new symbol,
/// until the vocabulary is full or no pair occurs min_frequency times. Pair counts are updated incrementally, only
/// in the words that contain the merged pair.
/// </summary>
internal sealed class MergeTrainer
{
    private readonly List<string> _symbols = [];
    private readonly Dictionary<string, int> _symbolIds = new(StringComparer.Ordinal);
    private readonly List<int[]> _words = [];
    private readonly List<long> _counts = [];
    private readonly Dictionary<long, long> _pairCounts = [];
    private readonly Dictionary<long, HashSet<int>> _pairWords = [];

    /// <summary>Registers the initial alphabet first so its symbols get the lowest ids (their vocabulary order).</summary>
    public MergeTrainer(IEnumerable<string> alphabet)
    {
        foreach (var s in alphabet) Intern(s);
    }

    public IReadOnlyList<string> Symbols => _symbols;

    public int Intern(string symbol)
    {
        if (_symbolIds.TryGetValue(symbol, out int id)) return id;
        _symbols.Add(symbol);
        return _symbolIds[symbol] = _symbols.Count - 1;
    }

    public void AddWord(IReadOnlyList<string> symbols, long count)
    {
        var ids = symbols.Select(Intern).ToArray();
        int w = _words.Count;
        _words.Add(ids);
        _counts.Add(count);
        for (int i = 0; i + 1 < ids.Length; i++) AddPair(Key(ids[i], ids[i + 1]), count, w);
    }

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    private void AddPair(long key, long count, int word)
    {
        _pairCounts[key] = _pairCounts.GetValueOrDefault(key) + count;
        if (!_pairWords.TryGetValue(key, out var set)) _pairWords[key] = set = [];
        set.Add(word);
    }

    /// <summary>Runs merges until <paramref name="maxNewSymbols"/> new symbols exist; returns the merges in order.</summary>
    public List<(string Left, string Right)> Train(int maxNewSymbols, long minFrequency, Func<string, string, string> join)
    {
        var merges = new List<(string, string)>();
        // Max-heap by count; ties go to the smaller (left, right) ids. Entries go stale and are re-checked on pop.
        var heap = new PriorityQueue<long, (long NegCount, long Key)>();
        foreach (var (key, count) in _pairCounts) heap.Enqueue(key, (-count, key));
        int added = 0;
        while (added < maxNewSymbols && heap.TryDequeue(out long best, out var priority))
        {
            long current = _pairCounts.GetValueOrDefault(best);
            if (current != -priority.NegCount)
            {
                if (current > 0) heap.Enqueue(best, (-current, best));
                continue;
            }
            if (current < minFrequency) break;
            int a = (int)(best >> 32), b = (int)(uint)best;
            string merged = join(_symbols[a], _symbols[b]);
            bool isNew = !_symbolIds.ContainsKey(merged);
            int m = Intern(merged);
            merges.Add((_symbols[a], _symbols[b]));
            if (isNew) added++;
            var touched = new HashSet<long>();
            foreach (int w in _pairWords[best].ToArray()) Rewrite(w, a, b, m, touched);
            foreach (long key in touched)
                if (_pairCounts.GetValueOrDefault(key) is > 0 and var c) heap.Enqueue(key, (-c, key));
        }
        return merges;
    }

    /// <summary>Merges every non-overlapping (a, b) in word w, left to right, keeping pair counts exact.</summary>
    private void Rewrite(int w, int a, int b, int merged, HashSet<long> touched)
    {
        var ids = _words[w];
        long count = _counts[w];
        var before = new HashSet<long>();
        for (int i = 0; i + 1 < ids.Length; i++)
        {
            long key = Key(ids[i], ids[i + 1]);
            _pairCounts[key] = _pairCounts.GetValueOrDefault(key) - count;
            before.Add(key);
        }
        foreach (long key in before)
        {
            touched.Add(key);
            if (_pairCounts[key] <= 0) { _pairCounts.Remove(key); _pairWords.Remove(key); }
            else _pairWords[key].Remove(w);
        }
        var result = new List<int>(ids.Length);
        for (int i = 0; i < ids.Length; i++)
        {
            if (i + 1 < ids.Length && ids[i] == a && ids[i + 1] == b) { result.Add(merged); i++; }
            else result.Add(ids[i]);
        }
        _words[w] = ids = result.ToArray();
        for (int i = 0; i + 1 < ids.Length; i++)
        {
            long key = Key(ids[i], ids[i + 1]);
            AddPair(key, count, w);
            touched.Add(key);
        }
    }
}
