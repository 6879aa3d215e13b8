namespace Cluster.Model.Tokenization;

/// <summary>
/// Pre-token → BPE tokens, shared by all encoding threads. Lookups take no lock. Entries live in a few flat arrays
/// rather than one string and one array per word, so a cache of a hundred thousand words adds a handful of objects
/// to each full garbage collection instead of a few hundred thousand (which, with one object per word, was most of
/// the encoder's time once batches were large enough to trigger full collections).
/// The cache is bounded: when it reaches its entry or character limit it starts over empty.
/// </summary>
internal sealed class WordCache
{
    /// <summary>Longest word kept, in UTF-16 units: one entry can take at most 1/1024 of the key space.</summary>
    public const int MaxWordLength = MaxKeyChars / 1024;
    private const int MaxEntries = 1 << 18, MaxKeyChars = 1 << 22, MaxValues = 1 << 22;
    private const int InitialEntries = 1 << 12;

    private readonly Lock _writer = new();
    private Table _table = new(InitialEntries, InitialEntries * 8, InitialEntries * 8);

    public int Count => Volatile.Read(ref _table).Count;

    public bool TryGet(ReadOnlySpan<char> word, out ReadOnlySpan<int> tokens)
    {
        var table = Volatile.Read(ref _table);
        int at = table.Find(word, string.GetHashCode(word), out _);
        tokens = at >= 0 ? table.ValuesOf(at) : default;
        return at >= 0;
    }

    public void Add(ReadOnlySpan<char> word, ReadOnlySpan<int> tokens)
    {
        if (word.Length > MaxWordLength) return;
        int hash = string.GetHashCode(word);
        lock (_writer)
        {
            var table = _table;
            if (table.Find(word, hash, out _) >= 0) return;   // another thread added it first
            if (!table.HasRoom(word.Length, tokens.Length))
            {
                table = table.Grown(word.Length, tokens.Length) ?? new Table(InitialEntries, InitialEntries * 8, InitialEntries * 8);
                Volatile.Write(ref _table, table);
            }
            table.Append(word, tokens, hash);
        }
    }

    /// <summary>
    /// An open-addressing table over append-only arrays. Readers see an entry once its slot is written, and the
    /// slot is written last (a release store), so a reader never sees half an entry. Growth copies into a new table
    /// and publishes it; readers still holding the old one keep reading valid (unchanged) data.
    /// </summary>
    private sealed class Table
    {
        private const int Stride = 5;   // hash, key start, key length, value start, value length
        private readonly int[] _slots;  // entry index + 1; 0 is empty. Twice the entry capacity, so probes stay short.
        private readonly int[] _entries;
        private readonly char[] _keys;
        private readonly int[] _values;
        private int _keyUsed, _valueUsed;

        public Table(int entries, int keyChars, int values)
        {
            _slots = new int[entries * 2];
            _entries = new int[entries * Stride];
            _keys = new char[keyChars];
            _values = new int[values];
        }

        public int Count { get; private set; }
        private int EntryCapacity => _entries.Length / Stride;

        public int Find(ReadOnlySpan<char> word, int hash, out int slot)
        {
            int mask = _slots.Length - 1;
            for (slot = hash & mask; ; slot = (slot + 1) & mask)
            {
                int entry = Volatile.Read(ref _slots[slot]) - 1;
                if (entry < 0) return -1;
                int m = entry * Stride;
                if (_entries[m] == hash && _entries[m + 2] == word.Length && _keys.AsSpan(_entries[m + 1], word.Length).SequenceEqual(word))
                    return entry;
            }
        }

        public ReadOnlySpan<int> ValuesOf(int entry) => _values.AsSpan(_entries[entry * Stride + 3], _entries[entry * Stride + 4]);

        public bool HasRoom(int keyLength, int valueLength) =>
            Count < EntryCapacity && _keyUsed + keyLength <= _keys.Length && _valueUsed + valueLength <= _values.Length;

        /// <summary>A copy with room for one more entry of this size, or null when that would pass the cache's limits.</summary>
        public Table? Grown(int keyLength, int valueLength)
        {
            int entries = Count < EntryCapacity ? EntryCapacity : EntryCapacity * 2;
            int keys = Grow(_keys.Length, _keyUsed + keyLength), values = Grow(_values.Length, _valueUsed + valueLength);
            if (entries > MaxEntries || keys > MaxKeyChars || values > MaxValues) return null;
            var grown = new Table(entries, keys, values);
            for (int e = 0; e < Count; e++)
            {
                int m = e * Stride;
                grown.Append(_keys.AsSpan(_entries[m + 1], _entries[m + 2]), ValuesOf(e), _entries[m]);
            }
            return grown;

            static int Grow(int capacity, int needed)
            {
                while (capacity < needed) capacity *= 2;
                return capacity;
            }
        }

        /// <summary>Adds an entry the table lacks; the caller holds the writer lock and has checked for room.</summary>
        public void Append(ReadOnlySpan<char> word, ReadOnlySpan<int> tokens, int hash)
        {
            Find(word, hash, out int slot);
            int entry = Count, m = entry * Stride;
            word.CopyTo(_keys.AsSpan(_keyUsed));
            tokens.CopyTo(_values.AsSpan(_valueUsed));
            _entries[m] = hash;
            _entries[m + 1] = _keyUsed;
            _entries[m + 2] = word.Length;
            _entries[m + 3] = _valueUsed;
            _entries[m + 4] = tokens.Length;
            _keyUsed += word.Length;
            _valueUsed += tokens.Length;
            Count = entry + 1;
            Volatile.Write(ref _slots[slot], entry + 1);
        }
    }
}
