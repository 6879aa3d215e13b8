namespace Cluster.Model.Tokenization;

/// <summary>Which sequence of a pair loses tokens when the total exceeds max_length (HF's names).</summary>
public enum TruncationStrategy
{
    /// <summary>Take from the longer sequence first; for pairs, both are cut to fit (HF's default).</summary>
    LongestFirst,
    OnlyFirst,
    OnlySecond,
}

public enum PaddingStrategy
{
    DoNotPad,
    /// <summary>To the longest row of the batch (a single encoding is its own longest).</summary>
    Longest,
    /// <summary>To <see cref="EncodeOptions.MaxLength"/>.</summary>
    MaxLength,
}

public enum PaddingSide { Right, Left }

/// <summary>
/// How text becomes model inputs; the defaults are Hugging Face's (special tokens on, no truncation, no padding).
/// Truncation is on when <see cref="MaxLength"/> is set and <see cref="Truncation"/> is not null.
/// </summary>
public sealed record EncodeOptions
{
    public static readonly EncodeOptions Default = new();

    public bool AddSpecialTokens { get; init; } = true;
    /// <summary>Length limit including special tokens; used by truncation and by <see cref="PaddingStrategy.MaxLength"/>.</summary>
    public int? MaxLength { get; init; }
    public TruncationStrategy? Truncation { get; init; } = TruncationStrategy.LongestFirst;
    /// <summary>Tokens shared by consecutive overflowing windows (question answering's document stride).</summary>
    public int Stride { get; init; }
    /// <summary>Keep the windows cut off by truncation as extra rows (<see cref="TokenEncoding.Overflowing"/>).</summary>
    public bool ReturnOverflowingTokens { get; init; }
    public PaddingStrategy Padding { get; init; } = PaddingStrategy.DoNotPad;
    public int? PadToMultipleOf { get; init; }
    public PaddingSide PaddingSide { get; init; } = PaddingSide.Right;

    internal bool Truncates => MaxLength is not null && Truncation is not null;

    internal void Validate()
    {
        if (MaxLength is < 0) throw new TokenizerException($"max_length must be >= 0, got {MaxLength}");
        if (Stride < 0) throw new TokenizerException($"stride must be >= 0, got {Stride}");
        if (PadToMultipleOf is <= 0) throw new TokenizerException($"pad_to_multiple_of must be > 0, got {PadToMultipleOf}");
        if (Padding == PaddingStrategy.MaxLength && MaxLength is null)
            throw new TokenizerException("padding to max_length needs max_length");
    }
}
