namespace Cluster.Training.Data;

/// <summary>How a corpus becomes fixed-size examples: <c>Packed</c> concatenates its documents and cuts every
/// <c>max_length</c> tokens (run_mlm.py without <c>--line_by_line</c>; a remainder shorter than that is dropped), and
/// <c>Line</c> takes each document on its own, truncated to <c>max_length</c> with its final special token kept.</summary>
public enum ExampleMode { Packed, Line }

/// <summary>Example i of a prepared corpus, for any i in [0, <see cref="Count"/>): the global example index that
/// sharding and masking are functions of.</summary>
public sealed class PretrainingExamples(TokenCorpus corpus, int maxLength, ExampleMode mode)
{
    public TokenCorpus Corpus { get; } = corpus;
    public int MaxLength { get; } = maxLength >= 8 ? maxLength : throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "examples need at least 8 tokens");
    public ExampleMode Mode { get; } = mode;

    public long Count => Mode == ExampleMode.Packed ? Corpus.Tokens / MaxLength : Corpus.Documents;

    public int Length(long index) => Mode == ExampleMode.Packed ? MaxLength : Math.Min(MaxLength, Corpus.Document(index).Length);

    /// <summary>Writes example <paramref name="index"/>'s ids of one stream into <paramref name="destination"/> and returns its length.</summary>
    public int Copy(long index, Span<int> destination, int stream = 0)
    {
        if (index < 0 || index >= Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"there are {Count} examples");
        if (Mode == ExampleMode.Packed)
        {
            Corpus.CopyTokens(index * MaxLength, destination[..MaxLength], stream);
            return MaxLength;
        }
        var document = Corpus.Document(index, stream);
        if (document.Length <= MaxLength)
        {
            document.CopyTo(destination);
            return document.Length;
        }
        document[..(MaxLength - 1)].CopyTo(destination);
        destination[MaxLength - 1] = document[^1]; // truncation keeps the closing special token, as the tokenizer's would
        return MaxLength;
    }
}
