using Xunit;
using Cluster.Model.Tokenization;
using static Cluster.Model.Tests.Tokenization.TokenizerTestFiles;

namespace Cluster.Model.Tests.Tokenization;

public class RoCBertTokenizerTests
{
    private static readonly EncodeOptions NoSpecial = new() { AddSpecialTokens = false };

    [Fact]
    public void BasicTokenizationSplitsChinesePunctuationAndLowerCasesWithoutAccents()
    {
        var t = RoCBertTok();
        string text = "我爱北京!  Hello,\tWORLD  Café\u0000";
        var e = t.Encode(text, options: NoSpecial);
        Assert.Equal(["我", "爱", "北", "京", "!", "hello", ",", "world", "cafe"], Tokens(t, e));
        // Offsets point at the original characters, before lower-casing and accent stripping.
        Assert.Equal(["我", "爱", "北", "京", "!", "Hello", ",", "WORLD", "Café"], Spans(text, e));
    }

    [Fact]
    public void WordPieceTakesTheLongestPrefixAndMarksContinuations()
    {
        var t = RoCBertTok();
        var e = t.Encode("unaffable abc xyz cbb", options: NoSpecial);
        Assert.Equal(["un", "##aff", "##able", "ab", "##c", "[UNK]", "c", "##b", "##b"], Tokens(t, e));
        Assert.Equal(["un", "aff", "able", "ab", "c", "xyz", "c", "b", "b"], Spans("unaffable abc xyz cbb", e));
        Assert.Equal([0, 0, 0, 1, 1, 2, 3, 3, 3], e.WordIds.Select(w => w!.Value));
        // Past max_input_chars_per_word (100) a word is one unknown token, even if its pieces exist.
        Assert.Equal(["[UNK]"], Tokens(t, t.Encode(new string('a', 101), options: NoSpecial)));
    }

    [Fact]
    public void ShapeAndPronunciationIdsAlignWithInputIds()
    {
        var t = RoCBertTok();
        var e = t.Encode("我爱北京", "天安门!");
        Assert.Equal(["[CLS]", "我", "爱", "北", "京", "[SEP]", "天", "安", "门", "!", "[SEP]"], Tokens(t, e));
        Assert.Equal([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1], e.TokenTypeIds);
        // [CLS]/[SEP] added by the template and tokens missing from a map take [UNK]'s id (1), as HF's tokenizer does.
        Assert.Equal([1, 5, 6, 7, 7, 1, 8, 1, 1, 1, 1], e.InputShapeIds!);
        Assert.Equal([1, 10, 11, 1, 12, 1, 13, 13, 1, 1, 1], e.InputPronunciationIds!);
        Assert.True(t.ReturnsTokenTypeIds);
    }

    [Fact]
    public void SpecialTokensInTextKeepTheirOwnMapEntries()
    {
        var t = RoCBertTok();
        var e = t.Encode("我[MASK]京", options: NoSpecial);
        Assert.Equal(["我", "[MASK]", "京"], Tokens(t, e));
        Assert.Equal(4, e.InputPronunciationIds![1]);
        Assert.Equal(4, e.InputShapeIds![1]);
    }

    [Fact]
    public void PaddingUsesThePadIdForShapesAndPronunciations()
    {
        var t = RoCBertTok();
        var batch = t.EncodeBatch(["我", "我爱北京"], new EncodeOptions { Padding = PaddingStrategy.Longest });
        var row = batch.Rows[0];
        Assert.Equal(6, row.Length);
        Assert.Equal(t.PadTokenId, row.InputShapeIds![^1]);
        Assert.Equal(t.PadTokenId, row.InputPronunciationIds![^1]);
        Assert.Equal(0, row.TokenTypeIds[^1]);
    }

    [Fact]
    public void ShapeIdsFollowTruncationWindows()
    {
        var t = RoCBertTok();
        var e = t.Encode("我爱北京天安", options: new EncodeOptions { MaxLength = 5, Stride = 1, ReturnOverflowingTokens = true });
        Assert.Equal(["[CLS]", "我", "爱", "北", "[SEP]"], Tokens(t, e));
        Assert.Equal(["[CLS]", "北", "京", "天", "[SEP]"], Tokens(t, e.Overflowing[0]));
        Assert.Equal([1, 7, 7, 8, 1], e.Overflowing[0].InputShapeIds!);
    }

    [Fact]
    public void ConfigurationIsReadFromTokenizerConfig()
    {
        var cased = RoCBertTok("{\"do_lower_case\": false, \"never_split\": [\"Hello,\"]}");
        Assert.Equal(["[UNK]", "world"], Tokens(cased, cased.Encode("Hello, world", options: NoSpecial)));
        var keepAccents = RoCBertTok("{\"strip_accents\": false}");
        Assert.Equal(["[UNK]"], Tokens(keepAccents, keepAccents.Encode("café", options: NoSpecial)));
    }

    [Fact]
    public void GreekFinalSigmaLowerCasesAsPythonDoes()
    {
        // Python's "ΣΟΦΟΣ".lower() ends in final ς (U+03C2); a per-character lower-casing would give σ and miss the vocabulary.
        var t = RoCBertTok();
        Assert.Equal(["\u03c3\u03bf\u03c6\u03bf\u03c2"], Tokens(t, t.Encode("\u03a3\u039f\u03a6\u039f\u03a3", options: NoSpecial)));
    }

    [Fact]
    public void DecodeJoinsWordPieces()
    {
        var t = RoCBertTok();
        var ids = t.Encode("unaffable hello , world !").InputIds;
        Assert.Equal("[CLS] unaffable hello , world ! [SEP]", t.Decode(ids, cleanUpTokenizationSpaces: false));
        Assert.Equal("unaffable hello, world!", t.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void ControlCharactersAreDroppedAndCompatibilityIdeographsNormalized()
    {
        var t = RoCBertTok();
        // HF's _clean_text drops C0 controls other than tab/newline/return, and DEL; \v and \f are controls, not spaces.
        Assert.Equal(["hello", "world"], Tokens(t, t.Encode("hel\u0001lo\u007f world\u000b\u000c", options: NoSpecial)));
        // U+F963 and U+2F82B are compatibility ideographs whose NFC is 北 (U+5317): isolated, then normalized.
        var e = t.Encode("我\uF963京\U0002F82B", options: NoSpecial);
        Assert.Equal(["我", "北", "京", "北"], Tokens(t, e));
        Assert.Equal([(0, 1), (1, 2), (2, 3), (3, 4)], e.Offsets);   // code points: the astral one counts once
    }

    [Fact]
    public void MixedScriptTokensSplitOnPunctuationAfterNormalizing()
    {
        var t = RoCBertTok();
        // One whitespace token with ASCII and accented letters: lower-cased, accents stripped, split at the punctuation.
        var text = "CAFÉ,Hello!ΣΟΦΟΣ";
        var e = t.Encode(text, options: NoSpecial);
        Assert.Equal(["cafe", ",", "hello", "!", "\u03c3\u03bf\u03c6\u03bf\u03c2"], Tokens(t, e));
        Assert.Equal(["CAFÉ", ",", "Hello", "!", "ΣΟΦΟΣ"], Spans(text, e));
    }

    [Fact]
    public void IdsOnlyEncodingMatchesFullRows()
    {
        var t = RoCBertTok();
        string[] texts = ["我爱北京!  Hello,\tWORLD  Café", "unaffable abc xyz cbb", "我[MASK]京", "", "\U0001F600 天安门", new string('a', 101)];
        foreach (bool special in new[] { true, false })
        {
            var rows = t.EncodeBatch(texts, new EncodeOptions { AddSpecialTokens = special }).Rows;
            var ids = t.EncodeIdsBatch(texts, addSpecialTokens: special);
            Assert.Equal(rows.Count, ids.Length);
            for (int i = 0; i < ids.Length; i++)
            {
                Assert.Equal(rows[i].InputIds, ids[i].InputIds);
                Assert.Equal(rows[i].InputShapeIds, ids[i].InputShapeIds);
                Assert.Equal(rows[i].InputPronunciationIds, ids[i].InputPronunciationIds);
            }
        }
        var roberta = RobertaTok();
        var robertaIds = roberta.EncodeIdsBatch(texts);
        Assert.Equal(roberta.EncodeBatch(texts).Rows.Select(r => r.InputIds), robertaIds.Select(r => r.InputIds));
        Assert.All(robertaIds, r => Assert.Null(r.InputShapeIds));
    }
}
