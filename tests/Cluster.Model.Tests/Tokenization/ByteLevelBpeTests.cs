using Xunit;
using System.Text;
using System.Text.RegularExpressions;
using Cluster.Model.Tokenization;
using static Cluster.Model.Tests.Tokenization.TokenizerTestFiles;

namespace Cluster.Model.Tests.Tokenization;

public class ByteLevelBpeTests
{
    private static List<string> PreTokens(string text)
    {
        var tokenizer = RobertaTok();
        // Each pre-token is one word, so word ids recover the pre-tokenizer's pieces through the public API.
        var e = tokenizer.Encode(text, options: new EncodeOptions { AddSpecialTokens = false });
        var codePoints = text.EnumerateRunes().Select(r => r.ToString()).ToArray();
        var pieces = new List<string>();
        string spelled = "";
        int? word = null;
        foreach (var (id, w) in e.InputIds.Zip(e.WordIds, (i, w) => (i, w)))
        {
            if (w != word && word is not null) { pieces.Add(spelled); spelled = ""; }
            word = w;
            spelled += tokenizer.IdToToken(id);
        }
        if (word is not null) pieces.Add(spelled);
        return pieces;
    }

    [Theory]
    [InlineData("Hello world! It's a test. We'll see, they've gone; I'd say you're right: don't.")]
    [InlineData("   leading and trailing   ")]
    [InlineData("tabs\tand\nnewlines\r\n  double  spaces\n\n\nend")]
    [InlineData("Ünïcödé façade — naïve café; Ελληνικά; русский; עברית; العربية; 中文文本，标点。カタカナ한국어")]
    [InlineData("Digits 1234567890 3.14159 ٣٤٥ ⅧⅨ ²³ and mixed a1b2 'quoted' \"dq\" 's 'S ''s !'s ?!?")]
    [InlineData("x  \u00a0 y\u2003z \u3000 w")]
    public void PreTokenizationMatchesGpt2sPattern(string text)
    {
        var expected = Regex.Matches(text, Gpt2Pattern).Select(m => ByteSpell(m.Value)).ToList();
        Assert.Equal(expected, PreTokens(text));
    }

    [Fact]
    public void RandomTextsPreTokenizeLikeTheRegex()
    {
        var pool = "ab Z9٣'s\t\n  .,!é\u00a0中-".ToCharArray();
        var random = new Random(7);
        for (int n = 0; n < 300; n++)
        {
            var text = new string(Enumerable.Range(0, random.Next(1, 30)).Select(_ => pool[random.Next(pool.Length)]).ToArray());
            var expected = Regex.Matches(text, Gpt2Pattern).Select(m => ByteSpell(m.Value)).ToList();
            Assert.True(expected.SequenceEqual(PreTokens(text)), $"text {Regex.Escape(text)}");
        }
    }

    [Theory]
    [InlineData("hello the world")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("hellohellohellohellohellohellohellohellohellohellohellohellohellohellohellohellohellohello")]
    [InlineData("äöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäöäö ingininginging")]
    public void MergesFollowGpt2sReferenceBpe(string text)
    {
        var tokenizer = RobertaTok();
        var expected = Regex.Matches(text, Gpt2Pattern).SelectMany(m => ReferenceBpe(ByteSpell(m.Value), Merges)).ToArray();
        var actual = Tokens(tokenizer, tokenizer.Encode(text, options: new EncodeOptions { AddSpecialTokens = false }));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void LongAndShortWordPathsAgreeWithTheReference()
    {
        // Words past 48 bytes take the heap path; random ones over a merge-rich alphabet exercise stale entries.
        var tokenizer = RobertaTok();
        var random = new Random(3);
        string letters = "aaheloringäö";
        for (int n = 0; n < 200; n++)
        {
            string word = new(Enumerable.Range(0, random.Next(1, 120)).Select(_ => letters[random.Next(letters.Length)]).ToArray());
            var expected = ReferenceBpe(ByteSpell(word), Merges);
            Assert.Equal(expected, Tokens(tokenizer, tokenizer.Encode(word, options: new EncodeOptions { AddSpecialTokens = false })));
        }
    }

    [Theory]
    [InlineData("Hello world")]
    [InlineData("  spaces   everywhere  ")]
    [InlineData("emoji 😀👍🏽 👨‍👩‍👧 and 中文 and \u0000 nul and \ud83d lone surrogate")]
    [InlineData("")]
    public void DecodeInvertsEncode(string text)
    {
        var tokenizer = RobertaTok();
        var ids = tokenizer.Encode(text, options: new EncodeOptions { AddSpecialTokens = false }).InputIds;
        // A lone surrogate is not text UTF-8 can carry; it comes back as U+FFFD, as HF's does.
        Assert.Equal(text.Replace("\ud83d lone", "\ufffd lone"), tokenizer.Decode(ids, cleanUpTokenizationSpaces: false));
    }

    [Fact]
    public void OffsetsPointAtTheTextOfEachTokenInCodePoints()
    {
        var tokenizer = RobertaTok();
        string text = "the 😀 world, ä";
        var e = tokenizer.Encode(text);
        // trim_offsets: a token's leading space is not part of its span; special tokens are (0, 0).
        // "the" has no merge to one token here; the emoji and ä stay single bytes, each pointing at its whole
        // character; a lone "Ġ" trims to an empty span.
        Assert.Equal(["", "t", "he", "", "😀", "😀", "😀", "😀", "world", ",", "", "ä", "ä", ""], Spans(text, e));
        Assert.Equal((4, 5), e.Offsets[4]);   // one code point, although two UTF-16 units
        Assert.Equal((6, 11), e.Offsets[8]);
    }

    [Fact]
    public void TokenizerJsonLoadsLikeVocabAndMerges()
    {
        var fromFiles = AutoTokenizer.FromPretrained(WriteRobertaDir());
        var fromJson = AutoTokenizer.FromPretrained(WriteRobertaDir(asTokenizerJson: true));
        string text = "Hello the world <mask> aaaa 's 😀";
        var a = fromFiles.Encode(text, "pair text");
        var b = fromJson.Encode(text, "pair text");
        Assert.Equal(a.InputIds, b.InputIds);
        Assert.Equal(a.Offsets, b.Offsets);
    }

    [Fact]
    public void ATenMegabyteLineEncodesAndRoundTrips()
    {
        var tokenizer = RobertaTok();
        var sb = new StringBuilder();
        var random = new Random(1);
        while (sb.Length < 9_000_000) sb.Append(random.Next(4) switch { 0 => "hello ", 1 => "the world, ", 2 => "ä😀 ", _ => "1234 " });
        sb.Append('a', 1_000_000);   // one 1 MB word: quadratic BPE would not finish
        string line = sb.ToString();
        var ids = tokenizer.Encode(line, options: new EncodeOptions { AddSpecialTokens = false }).InputIds;
        Assert.Equal(line, tokenizer.Decode(ids, cleanUpTokenizationSpaces: false));
    }
}
