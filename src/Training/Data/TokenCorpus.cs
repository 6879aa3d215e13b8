using System.IO.MemoryMappedFiles;

namespace Cluster.Training.Data;

/// <summary>A prepared corpus, memory-mapped: every document's token ids (and RoCBert's shape and pronunciation ids)
/// are read in place, never tokenized again. Checked when opened: file sizes, offsets, and (when given) the
/// tokenizer fingerprint.</summary>
public sealed unsafe class TokenCorpus : IDisposable
{
    sealed class MappedFile : IDisposable
    {
        readonly MemoryMappedFile _file;
        readonly MemoryMappedViewAccessor _view;
        public readonly byte* Pointer;
        public readonly long Length;

        public MappedFile(string path, long expectedBytes)
        {
            if (!File.Exists(path)) throw new CorpusException($"{path}: missing");
            Length = new FileInfo(path).Length;
            if (Length != expectedBytes) throw new CorpusException($"{path}: {Length} bytes, the manifest implies {expectedBytes}");
            _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            Pointer = p + _view.PointerOffset;
        }

        public void Dispose()
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }
    }

    sealed class Shard(long firstDocument, long firstToken, MappedFile offsets, MappedFile[] streams) : IDisposable
    {
        public readonly long FirstDocument = firstDocument, FirstToken = firstToken;
        public readonly MappedFile Offsets = offsets;
        public readonly MappedFile[] Streams = streams;
        public long Documents => Offsets.Length / 8 - 1;
        public long Tokens => Streams[0].Length / 4;
        public long Offset(long document) => ((long*)Offsets.Pointer)[document];
        public ReadOnlySpan<int> Ids(int stream, long start, int count) => new((int*)Streams[stream].Pointer + start, count);

        public void Dispose()
        {
            Offsets.Dispose();
            foreach (var s in Streams) s.Dispose();
        }
    }

    readonly Shard[] _shards;

    TokenCorpus(string directory, TokenShardManifest manifest, Shard[] shards) => (Directory, Manifest, _shards) = (directory, manifest, shards);

    public string Directory { get; }
    public TokenShardManifest Manifest { get; }
    public long Documents => Manifest.Documents;
    public long Tokens => Manifest.Tokens;
    public int StreamCount => Manifest.Streams.Length;

    /// <param name="tokenizerSha256">the fingerprint of the tokenizer training will use; a different one is refused</param>
    public static TokenCorpus Open(string directory, string? tokenizerSha256 = null)
    {
        var manifest = TokenShardManifest.Read(directory);
        if (tokenizerSha256 is not null && manifest.TokenizerSha256 != tokenizerSha256)
            throw new CorpusException($"{directory} was prepared with another tokenizer (sha256 {manifest.TokenizerSha256[..12]}…, this one {tokenizerSha256[..12]}…); prepare it again");
        var shards = new List<Shard>();
        try
        {
            long documents = 0, tokens = 0;
            foreach (var entry in manifest.Shards)
            {
                var offsets = new MappedFile(Path.Combine(directory, TokenShardManifest.OffsetsFile(entry.Name)), (entry.Documents + 1) * 8);
                var streams = new List<MappedFile>();
                try
                {
                    foreach (var stream in manifest.Streams)
                        streams.Add(new MappedFile(Path.Combine(directory, TokenShardManifest.StreamFile(entry.Name, stream)), entry.Tokens * 4));
                }
                catch
                {
                    offsets.Dispose();
                    foreach (var s in streams) s.Dispose();
                    throw;
                }
                var shard = new Shard(documents, tokens, offsets, streams.ToArray());
                shards.Add(shard);
                CheckOffsets(shard, Path.Combine(directory, TokenShardManifest.OffsetsFile(entry.Name)));
                documents += entry.Documents;
                tokens += entry.Tokens;
            }
            return new TokenCorpus(directory, manifest, shards.ToArray());
        }
        catch
        {
            foreach (var s in shards) s.Dispose();
            throw;
        }
    }

    static void CheckOffsets(Shard shard, string path)
    {
        if (shard.Offset(0) != 0) throw new CorpusException($"{path}: the first offset is not 0");
        for (long d = 0; d < shard.Documents; d++)
            if (shard.Offset(d + 1) <= shard.Offset(d)) throw new CorpusException($"{path}: document {d} is empty or its offsets go backwards");
        if (shard.Offset(shard.Documents) != shard.Tokens) throw new CorpusException($"{path}: the last offset is not the shard's token count");
    }

    /// <summary>Document <paramref name="index"/>'s ids of stream <paramref name="stream"/> (0: input_ids).</summary>
    public ReadOnlySpan<int> Document(long index, int stream = 0)
    {
        var shard = ShardOfDocument(index);
        var local = index - shard.FirstDocument;
        var start = shard.Offset(local);
        return shard.Ids(stream, start, checked((int)(shard.Offset(local + 1) - start)));
    }

    /// <summary>Copies the corpus's tokens [<paramref name="start"/>, start + destination.Length) of a stream, across
    /// documents and shards (the packed view of the corpus).</summary>
    public void CopyTokens(long start, Span<int> destination, int stream = 0)
    {
        if (start < 0 || start + destination.Length > Tokens) throw new ArgumentOutOfRangeException(nameof(start));
        while (destination.Length > 0)
        {
            var shard = ShardOfToken(start);
            var local = start - shard.FirstToken;
            var count = (int)Math.Min(destination.Length, shard.Tokens - local);
            shard.Ids(stream, local, count).CopyTo(destination);
            destination = destination[count..];
            start += count;
        }
    }

    Shard ShardOfDocument(long index)
    {
        if (index < 0 || index >= Documents) throw new ArgumentOutOfRangeException(nameof(index), index, $"the corpus has {Documents} documents");
        foreach (var shard in _shards)
            if (index < shard.FirstDocument + shard.Documents) return shard;
        throw new InvalidOperationException("unreachable");
    }

    Shard ShardOfToken(long token)
    {
        foreach (var shard in _shards)
            if (token < shard.FirstToken + shard.Tokens) return shard;
        throw new ArgumentOutOfRangeException(nameof(token));
    }

    public void Dispose()
    {
        foreach (var shard in _shards) shard.Dispose();
    }
}
