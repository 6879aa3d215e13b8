using Xunit;
using Cluster.Model.Tokenization;
using static Cluster.Model.Tests.Tokenization.TokenizerTestFiles;

namespace Cluster.Model.Tests.Tokenization;

/// <summary>Each byte of "abcdefghij" is one token in the test vocabulary, so windows are easy to read.</summary>
public class TruncationAndPaddingTests
{
    private static readonly RobertaTokenizer T = RobertaTok();
    private static string[] Text(TokenEncoding e) => [Tokens(T, e).Aggregate("", (s, t) => s + (t.StartsWith('<') ? "|" : t))];

    [Fact]
    public void SingleSequenceWindowsOverlapByTheStride()
    {
        var e = T.Encode("abcdefghij", options: new EncodeOptions { MaxLength = 6, Stride = 2, ReturnOverflowingTokens = true });
        Assert.Equal(["|abcd|"], Text(e));
        Assert.Equal([["|cdef|"], ["|efgh|"], ["|ghij|"]], e.Overflowing.Select(Text));
        // Offsets of a window still point into the original text.
        Assert.Equal((2, 3), e.Overflowing[0].Offsets[1]);
        var dropped = T.Encode("abcdefghij", options: new EncodeOptions { MaxLength = 6, Stride = 2 });
        Assert.Empty(dropped.Overflowing);
    }

    [Fact]
    public void OnlySecondKeepsTheQuestionWholeAndSlidesOverTheContext()
    {
        var e = T.Encode("xy", "abcdefghij", new EncodeOptions { MaxLength = 10, Truncation = TruncationStrategy.OnlySecond, Stride = 1, ReturnOverflowingTokens = true });
        Assert.Equal(["|xy||abcd|"], Text(e));
        Assert.Equal([["|xy||defg|"], ["|xy||ghij|"]], e.Overflowing.Select(Text));
    }

    [Fact]
    public void OnlyFirstCutsTheFirstSequence()
    {
        var e = T.Encode("abcdefghij", "xy", new EncodeOptions { MaxLength = 10, Truncation = TruncationStrategy.OnlyFirst });
        Assert.Equal(["|abcd||xy|"], Text(e));
        var error = Assert.Throws<TokenizerException>(() =>
            T.Encode("ab", "abcdefghij", new EncodeOptions { MaxLength = 8, Truncation = TruncationStrategy.OnlyFirst }));
        Assert.Contains("too few", error.Message);
    }

    [Theory]
    // Rust tokenizers' longest_first: the shorter keeps its length when the longer still fits in the rest…
    [InlineData("ab", "abcdefghij", 10, "|ab||abcd|")]
    [InlineData("abcdefghij", "ab", 10, "|abcd||ab|")]
    // …otherwise each gets half the budget, the second the odd token.
    [InlineData("abcdefg", "abcdefghij", 11, "|abc||abcd|")]
    public void LongestFirstSharesTheBudgetLikeHuggingFace(string a, string b, int max, string expected)
    {
        Assert.Equal([expected], Text(T.Encode(a, b, new EncodeOptions { MaxLength = max })));
    }

    [Fact]
    public void LongestFirstPairOverflowComesInMergeOrder()
    {
        var e = T.Encode("abcdef", "ghijkl", new EncodeOptions { MaxLength = 8, ReturnOverflowingTokens = true });
        Assert.Equal(["|ab||gh|"], Text(e));
        Assert.Equal(["|cd||gh|", "|cd||ij|", "|cd||kl|", "|ef||gh|", "|ef||ij|", "|ef||kl|", "|ab||ij|", "|ab||kl|"],
                     e.Overflowing.Select(o => Text(o)[0]));
    }

    [Fact]
    public void StrideMustBeSmallerThanTheWindow()
    {
        var error = Assert.Throws<TokenizerException>(() => T.Encode("abcdefghij", options: new EncodeOptions { MaxLength = 5, Stride = 3 }));
        Assert.Contains("stride", error.Message);
    }

    [Fact]
    public void PaddingFillsEveryFieldOnTheChosenSide()
    {
        var batch = T.EncodeBatch(["ab", "abcde"], new EncodeOptions { Padding = PaddingStrategy.Longest, PadToMultipleOf = 4 });
        var (shorter, longer) = (batch.Rows[0], batch.Rows[1]);
        Assert.Equal(8, shorter.Length);
        Assert.Equal(8, longer.Length);
        Assert.Equal([1, 1, 1, 1, 0, 0, 0, 0], shorter.AttentionMask);
        Assert.Equal([1, 0, 0, 1, 1, 1, 1, 1], shorter.SpecialTokensMask);
        Assert.Equal(T.PadTokenId, shorter.InputIds[^1]);
        Assert.Equal((0, 0), shorter.Offsets[^1]);
        Assert.Null(shorter.WordIds[^1]);

        var left = T.Encode("ab", options: new EncodeOptions { Padding = PaddingStrategy.MaxLength, MaxLength = 6, PaddingSide = PaddingSide.Left });
        Assert.Equal([0, 0, 1, 1, 1, 1], left.AttentionMask);
        Assert.Equal([T.PadTokenId, T.PadTokenId, 0], left.InputIds[..3]);
        Assert.Throws<TokenizerException>(() => T.Encode("a", options: new EncodeOptions { Padding = PaddingStrategy.MaxLength }));
    }

    [Fact]
    public void OverflowingRowsOfABatchAreMappedToTheirInput()
    {
        var batch = T.EncodeBatch(["abcdefghij", "ab", "abcdef"], new EncodeOptions { MaxLength = 6, Stride = 1, ReturnOverflowingTokens = true, Padding = PaddingStrategy.Longest });
        Assert.Equal([0, 0, 0, 1, 2, 2], batch.OverflowToSampleMapping);
        Assert.All(batch.Rows, r => Assert.Equal(6, r.Length));
    }
}
