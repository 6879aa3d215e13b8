using System.Buffers.Binary;
using Cluster.Model.Tokenization;

namespace Cluster.Training.Data;

/// <summary>How far <see cref="CorpusPreparation.Prepare"/> has come.</summary>
public readonly record struct PreparationProgress(long BytesRead, long TotalBytes, long Documents, long Tokens);

/// <summary>Tokenizes text corpora once, on all cores, into token shards (<see cref="TokenShardManifest"/>), so that
/// workers never tokenize. The manifest is written last: a directory without one was not finished.</summary>
public static class CorpusPreparation
{
    /// <summary>About 256 MB of ids per shard.</summary>
    public const long TokensPerShard = 64L << 20;
    const int LinesPerBatch = 8192;
    const long BatchChars = 4 << 20;

    /// <param name="tokenizer">the tokenizer read from <paramref name="tokenizerDirectory"/> (whose files are fingerprinted)</param>
    public static TokenShardManifest Prepare(Tokenizer tokenizer, string tokenizerDirectory, IReadOnlyList<string> corpusFiles, string outputDirectory,
        IProgress<PreparationProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (corpusFiles.Count == 0) throw new CorpusException("no corpus file given");
        foreach (var file in corpusFiles)
        {
            if (!File.Exists(file)) throw new CorpusException($"corpus {file}: no such file");
            if (new FileInfo(file).Length == 0) throw new CorpusException($"corpus {file}: the file is empty");
        }
        if (File.Exists(Path.Combine(outputDirectory, TokenShardManifest.FileName)))
            throw new CorpusException($"{outputDirectory} already holds a prepared corpus; choose another directory");
        var mask = tokenizer.TokenToId(tokenizer.ModelType == "roberta" ? "<mask>" : "[MASK]")
            ?? throw new CorpusException($"{tokenizerDirectory}: the tokenizer has no mask token");
        string[] streams = tokenizer.ModelType == "roc_bert" ? ["input_ids", "input_shape_ids", "input_pronunciation_ids"] : ["input_ids"];
        Directory.CreateDirectory(outputDirectory);

        var total = corpusFiles.Sum(f => new FileInfo(f).Length);
        var shards = new List<TokenShardEntry>();
        using var writer = new ShardWriter(outputDirectory, streams, shards);
        long read = 0;
        foreach (var file in corpusFiles)
        {
            var batch = new List<string>(LinesPerBatch);
            long batchChars = 0;
            foreach (var line in File.ReadLines(file))
            {
                cancellation.ThrowIfCancellationRequested();
                read += System.Text.Encoding.UTF8.GetByteCount(line) + 1;
                if (string.IsNullOrWhiteSpace(line)) continue;
                batch.Add(line);
                batchChars += line.Length;
                // Long documents make a batch by size, so memory stays proportional to the batch, not to LinesPerBatch lines.
                if (batch.Count < LinesPerBatch && batchChars < BatchChars) continue;
                writer.Write(tokenizer.EncodeIdsBatch(batch));
                batch.Clear();
                batchChars = 0;
                progress?.Report(new(Math.Min(read, total), total, writer.Documents, writer.Tokens));
            }
            if (batch.Count > 0) writer.Write(tokenizer.EncodeIdsBatch(batch));
            progress?.Report(new(Math.Min(read, total), total, writer.Documents, writer.Tokens));
        }
        writer.Finish();
        if (writer.Documents == 0)
            throw new CorpusException($"corpus {string.Join(", ", corpusFiles)}: no text (every line is blank)");

        var manifest = new TokenShardManifest
        {
            Format = TokenShardManifest.CurrentFormat,
            ModelType = tokenizer.ModelType,
            TokenizerSha256 = TokenizerFingerprint.Compute(tokenizerDirectory),
            VocabSize = tokenizer.VocabSize,
            PadTokenId = tokenizer.PadTokenId,
            MaskTokenId = mask,
            SpecialTokenIds = tokenizer.AddedTokens.Where(t => t.Special).Select(t => t.Id).Order().ToArray(),
            Streams = streams,
            Sources = corpusFiles.Select(Path.GetFileName).ToArray()!,
            Shards = shards.ToArray(),
        };
        manifest.Write(outputDirectory);
        return manifest;
    }

    /// <summary>Appends documents to the current shard's files, starting a new shard past <see cref="TokensPerShard"/>.</summary>
    sealed class ShardWriter(string directory, string[] streams, List<TokenShardEntry> shards) : IDisposable
    {
        FileStream[]? _streams;
        FileStream? _offsets;
        string _name = "";
        long _shardDocuments, _shardTokens;
        byte[] _buffer = new byte[1 << 16];

        public long Documents { get; private set; }
        public long Tokens { get; private set; }

        public void Write(TokenIds[] rows)
        {
            foreach (var row in rows)
            {
                if (_streams is null || _shardTokens >= TokensPerShard) StartShard();
                for (var s = 0; s < streams.Length; s++)
                    WriteInts(_streams![s], s switch { 0 => row.InputIds, 1 => row.InputShapeIds!, _ => row.InputPronunciationIds! });
                _shardTokens += row.Length;
                _shardDocuments++;
                WriteLong(_offsets!, _shardTokens);
                Documents++;
                Tokens += row.Length;
            }
        }

        void StartShard()
        {
            Finish();
            _name = $"shard-{shards.Count:D5}";
            _streams = streams.Select(s => File.Create(Path.Combine(directory, TokenShardManifest.StreamFile(_name, s)))).ToArray();
            _offsets = File.Create(Path.Combine(directory, TokenShardManifest.OffsetsFile(_name)));
            (_shardDocuments, _shardTokens) = (0, 0);
            WriteLong(_offsets, 0);
        }

        void WriteInts(FileStream file, int[] values)
        {
            var bytes = values.Length * 4;
            if (_buffer.Length < bytes) _buffer = new byte[bytes];
            for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(4 * i), values[i]);
            file.Write(_buffer, 0, bytes);
        }

        static void WriteLong(FileStream file, long value)
        {
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
            file.Write(bytes);
        }

        /// <summary>Closes the current shard (flushed to disk) and records it.</summary>
        public void Finish()
        {
            if (_streams is null) return;
            foreach (var file in _streams.Append(_offsets!))
            {
                file.Flush(flushToDisk: true);
                file.Dispose();
            }
            shards.Add(new TokenShardEntry(_name, _shardDocuments, _shardTokens));
            (_streams, _offsets) = (null, null);
        }

        public void Dispose()
        {
            foreach (var file in _streams ?? []) file.Dispose();
            _offsets?.Dispose();
        }
    }
}
