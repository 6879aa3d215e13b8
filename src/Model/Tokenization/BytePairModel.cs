using System.Collections.Concurrent;

namespace Cluster.Model.Tokenization;

/// <summary>
/// Byte-level BPE over a vocabulary and ranked merges: a word's bytes start as single-byte symbols and the adjacent
/// pair with the lowest merge rank (leftmost on ties) is merged until none applies, as HF tokenizers' BPE does.
/// Results are cached per pre-token; long words use a heap so a 10 MB word costs n log n, not n².
/// </summary>
internal sealed class BytePairModel
{
    private const int HeapThreshold = 48, CacheableLength = 64, CacheCapacity = 200_000;

    private readonly Dictionary<long, (int Rank, int Id)> _merges;
    private readonly int[] _byteIds = new int[256];
    private readonly ConcurrentDictionary<string, int[]> _cache = new();
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheBySpan;

    public BytePairModel(IReadOnlyDictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, string source)
    {
        Vocab = vocab;
        _cacheBySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        for (int b = 0; b < 256; b++)
            _byteIds[b] = vocab.TryGetValue(ByteLevel.ByteToChar[b].ToString(), out int id) ? id : -1;
        _merges = new Dictionary<long, (int, int)>(merges.Count);
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
    public int[] Encode(ReadOnlySpan<char> word, ReadOnlySpan<byte> utf8)
    {
        bool cacheable = word.Length <= CacheableLength;
        if (cacheable && _cacheBySpan.TryGetValue(word, out var cached)) return cached;
        var result = utf8.Length <= HeapThreshold ? MergeByScan(utf8) : MergeByHeap(utf8);
        if (cacheable)
        {
            if (_cache.Count >= CacheCapacity) _cache.Clear();
            _cacheBySpan.TryAdd(word, result);
        }
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
        var ids = new int[n]; var lens = new int[n]; var next = new int[n]; var prev = new int[n]; var alive = new bool[n];
        var queue = new PriorityQueue<(int At, int Left, int Right), long>();
        for (int i = 0; i < n; i++) { ids[i] = ByteId(utf8[i]); lens[i] = 1; next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; alive[i] = true; }
        void Offer(int at)
        {
            int r = next[at];
            if (r >= 0 && _merges.TryGetValue(Key(ids[at], ids[r]), out var m))
                queue.Enqueue((at, ids[at], ids[r]), ((long)m.Rank << 32) | (uint)at);
        }
        for (int i = 0; i < n - 1; i++) Offer(i);
        while (queue.TryDequeue(out var c, out _))
        {
            // Entries go stale when a neighbour merged since; a merged symbol never takes back an id it had, so
            // checking both ids is enough.
            if (!alive[c.At] || ids[c.At] != c.Left) continue;
            int r = next[c.At];
            if (r < 0 || ids[r] != c.Right) continue;
            ids[c.At] = _merges[Key(c.Left, c.Right)].Id;
            lens[c.At] += lens[r];
            alive[r] = false;
            next[c.At] = next[r];
            if (next[r] >= 0) prev[next[r]] = c.At;
            if (prev[c.At] >= 0) Offer(prev[c.At]);
            Offer(c.At);
        }
        var result = new List<int>();
        for (int i = 0; i >= 0 && i < n; i = next[i]) { result.Add(ids[i]); result.Add(lens[i]); }
        return result.ToArray();
    }
}
