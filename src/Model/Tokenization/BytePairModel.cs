namespace Cluster.Model.Tokenization;

/// <summary>
/// Byte-level BPE over a vocabulary and ranked merges: a word's bytes start as single-byte symbols and the adjacent
/// pair with the lowest merge rank (leftmost on ties) is merged until none applies, as HF tokenizers' BPE does.
/// Results are cached per pre-token (<see cref="WordCache"/>); long words use a heap so a 10 MB word costs n log n, not n².
/// </summary>
internal sealed class BytePairModel
{
    private const int HeapThreshold = 48;

    /// <summary>
    /// The longest pre-token (a run of letters, digits or symbols with no space) BPE takes, in UTF-8 bytes. Merging
    /// works on the whole run at about fifty bytes of memory per byte, so this bounds one word's cost near 50 MB; real
    /// text has no word within orders of magnitude of it.
    /// </summary>
    public const int MaxWordBytes = 1 << 20;

    private readonly Dictionary<long, (int Rank, int Id)> _merges;
    private readonly int[] _byteIds = new int[256];
    private readonly WordCache _cache = new();

    public BytePairModel(IReadOnlyDictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, string source)
    {
        Vocab = vocab;
        for (int b = 0; b < 256; b++)
            _byteIds[b] = vocab.TryGetValue(ByteLevel.ByteToChar[b].ToString(), out int id) ? id : -1;
        _merges = new Dictionary<long, (int, int)>(merges.Count, PairKeyComparer.Instance);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            int a = Lookup(left, rank), b = Lookup(right, rank), merged = Lookup(left + right, rank);
            _merges.TryAdd(Key(a, b), (rank, merged));
        }

        int Lookup(string token, int rank) => vocab.TryGetValue(token, out int id) ? id
            : throw new TokenizerException($"{source}: merge {rank + 1} ('{merges[rank].Left} {merges[rank].Right}') uses '{token}', which the vocabulary lacks");
    }

    public IReadOnlyDictionary<string, int> Vocab { get; }
    public int? UnknownId { get; init; }
    public int MergeCount => _merges.Count;

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    /// <summary>Tokens of one pre-token as (id, byte length) pairs, flattened.</summary>
    public ReadOnlySpan<int> Encode(ReadOnlySpan<char> word, ReadOnlySpan<byte> utf8)
    {
        if (_cache.TryGet(word, out var cached)) return cached;
        if (utf8.Length > MaxWordBytes)
            throw new TokenizerException($"a word of {utf8.Length} UTF-8 bytes (text with no space) is longer than the {MaxWordBytes} BPE takes; split it first");
        var result = utf8.Length <= HeapThreshold ? MergeByScan(utf8) : MergeByHeap(utf8);
        _cache.Add(word, result);
        return result;
    }

    private int ByteId(byte b) => _byteIds[b] >= 0 ? _byteIds[b]
        : UnknownId ?? throw new TokenizerException($"the vocabulary has no symbol for byte 0x{b:X2} ('{ByteLevel.ByteToChar[b]}') and no unknown token");

    private int[] MergeByScan(ReadOnlySpan<byte> utf8)
    {
        int n = utf8.Length;
        Span<int> ids = stackalloc int[n], lens = stackalloc int[n];
        for (int i = 0; i < n; i++) { ids[i] = ByteId(utf8[i]); lens[i] = 1; }
        while (n > 1)
        {
            int bestRank = int.MaxValue, bestAt = -1, bestId = 0;
            for (int i = 0; i < n - 1; i++)
                if (_merges.TryGetValue(Key(ids[i], ids[i + 1]), out var m) && m.Rank < bestRank)
                    (bestRank, bestAt, bestId) = (m.Rank, i, m.Id);
            if (bestAt < 0) break;
            ids[bestAt] = bestId;
            lens[bestAt] += lens[bestAt + 1];
            ids[(bestAt + 2)..n].CopyTo(ids[(bestAt + 1)..]);
            lens[(bestAt + 2)..n].CopyTo(lens[(bestAt + 1)..]);
            n--;
        }
        var result = new int[2 * n];
        for (int i = 0; i < n; i++) { result[2 * i] = ids[i]; result[2 * i + 1] = lens[i]; }
        return result;
    }

    private int[] MergeByHeap(ReadOnlySpan<byte> utf8)
    {
        int n = utf8.Length;
        var ids = new int[n]; var lens = new int[n]; var next = new int[n]; var prev = new int[n];
        // Candidates are (rank << 32 | position) in a min-heap of longs: lowest rank first, leftmost on ties.
        // A candidate goes stale when a neighbour merges; since a rank names exactly one pair, it is still valid
        // if the pair now at its position has that rank.
        var heap = new LongMinHeap(n);
        for (int i = 0; i < n; i++) { ids[i] = ByteId(utf8[i]); lens[i] = 1; next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
        void Offer(int at)
        {
            int r = next[at];
            if (r >= 0 && _merges.TryGetValue(Key(ids[at], ids[r]), out var m)) heap.Push(((long)m.Rank << 32) | (uint)at);
        }
        for (int i = 0; i < n - 1; i++) Offer(i);
        while (heap.TryPop(out long top))
        {
            int at = (int)(uint)top, rank = (int)(top >> 32);
            if (lens[at] == 0) continue;   // absorbed into its left neighbour
            int r = next[at];
            if (r < 0 || !_merges.TryGetValue(Key(ids[at], ids[r]), out var m) || m.Rank != rank) continue;
            ids[at] = m.Id;
            lens[at] += lens[r];
            lens[r] = 0;
            next[at] = next[r];
            if (next[r] >= 0) prev[next[r]] = at;
            if (prev[at] >= 0) Offer(prev[at]);
            Offer(at);
        }
        var result = new List<int>();
        for (int i = 0; i >= 0 && i < n; i = next[i]) { result.Add(ids[i]); result.Add(lens[i]); }
        return result.ToArray();
    }

    /// <summary>
    /// long's own hash is high ^ low, under which (a, b), (b, a) and every pair with the same a ^ b collide; mixing
    /// the bits keeps the merge table's chains short.
    /// </summary>
    private sealed class PairKeyComparer : IEqualityComparer<long>
    {
        public static readonly PairKeyComparer Instance = new();
        public bool Equals(long x, long y) => x == y;
        public int GetHashCode(long key) => (int)((ulong)(key * unchecked((long)0x9E3779B97F4A7C15)) >> 32);
    }

    /// <summary>A binary min-heap of longs (the general PriorityQueue costs several times more per operation here).</summary>
    private sealed class LongMinHeap(int capacity)
    {
        private long[] _items = new long[Math.Max(4, capacity)];
        private int _count;

        public void Push(long value)
        {
            if (_count == _items.Length) Array.Resize(ref _items, _count * 2);
            int i = _count++;
            while (i > 0)
            {
                int parent = (i - 1) >> 1;
                if (_items[parent] <= value) break;
                _items[i] = _items[parent];
                i = parent;
            }
            _items[i] = value;
        }

        public bool TryPop(out long top)
        {
            if (_count == 0) { top = 0; return false; }
            top = _items[0];
            long last = _items[--_count];
            int i = 0;
            while (true)
            {
                int child = 2 * i + 1;
                if (child >= _count) break;
                if (child + 1 < _count && _items[child + 1] < _items[child]) child++;
                if (_items[child] >= last) break;
                _items[i] = _items[child];
                i = child;
            }
            _items[i] = last;
            return true;
        }
    }
}
