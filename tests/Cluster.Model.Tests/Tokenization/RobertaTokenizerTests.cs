using Xunit;
using Cluster.Model.Tokenization;
using static Cluster.Model.Tests.Tokenization.TokenizerTestFiles;

namespace Cluster.Model.Tests.Tokenization;

public class RobertaTokenizerTests
{
    private static readonly EncodeOptions NoSpecial = new() { AddSpecialTokens = false };

    [Fact]
    public void SingleAndPairTemplatesAreRobertas()
    {
        var t = RobertaTok();
        var a = t.Encode("hello", options: NoSpecial).InputIds;
        var b = t.Encode(" the world", options: NoSpecial).InputIds;
        var single = t.Encode("hello");
        Assert.Equal([0, .. a, 2], single.InputIds);
        Assert.Equal([1, .. a.Select(_ => 0), 1], single.SpecialTokensMask);
        var pair = t.Encode("hello", " the world");
        Assert.Equal([0, .. a, 2, 2, .. b, 2], pair.InputIds);
        Assert.All(pair.TokenTypeIds, v => Assert.Equal(0, v));   // RoBERTa has one token type
        Assert.Equal([null, .. a.Select(_ => (int?)0), null, null, .. b.Select(_ => (int?)1), null], pair.SequenceIds);
        Assert.False(t.ReturnsTokenTypeIds);
        Assert.Equal(4, t.NumSpecialTokensToAdd(pair: true));
    }

    [Fact]
    public void SpecialTokensInTextAreMatchedAndMaskTakesTheSpaceBeforeIt()
    {
        var t = RobertaTok();
        var e = t.Encode("hello <mask>!</s>", options: NoSpecial);
        Assert.Equal(["hello", "<mask>", "!", "</s>"], Tokens(t, e));
        Assert.Equal([(0, 5), (5, 12), (12, 13), (13, 17)], e.Offsets);
        // A token that only looks special is ordinary text.
        Assert.DoesNotContain(t.TokenToId("<mask>")!.Value, t.Encode("<mas k>", options: NoSpecial).InputIds);
    }

    [Fact]
    public void AddPrefixSpaceSpellsTheFirstWordAsMidSentence()
    {
        var plain = RobertaTok();
        var prefixed = RobertaTok(addPrefixSpace: true);
        Assert.Equal(["t", "he"], Tokens(plain, plain.Encode("the", options: NoSpecial)));
        var e = prefixed.Encode("the", options: NoSpecial);
        Assert.Equal(["Ġthe"], Tokens(prefixed, e));
        Assert.Equal([(0, 3)], e.Offsets);   // the added space has no width
        Assert.Equal(Tokens(plain, plain.Encode(" the", options: NoSpecial)), Tokens(prefixed, prefixed.Encode(" the", options: NoSpecial)));
    }

    [Fact]
    public void PreSplitWordsCarryTheirIndexAsWordId()
    {
        var t = RobertaTok(addPrefixSpace: true);
        var e = t.EncodeWords(["hello", "world", "aaaa"]);
        Assert.Equal(["<s>", "Ġ", "hello", "Ġworld", "Ġ", "aaaa", "</s>"], Tokens(t, e));
        Assert.Equal([null, 0, 0, 1, 2, 2, null], e.WordIds);
        var error = Assert.Throws<TokenizerException>(() => RobertaTok().EncodeWords(["a"]));
        Assert.Contains("add_prefix_space", error.Message);
    }

    [Fact]
    public void DecodeSkipsSpecialTokensAndCleansUpSpaces()
    {
        var t = RobertaTok();
        var ids = t.Encode("hello the world , it 's").InputIds;
        Assert.Equal("<s>hello the world , it 's</s>", t.Decode(ids, cleanUpTokenizationSpaces: false));
        Assert.Equal("hello the world, it's", t.Decode(ids, skipSpecialTokens: true));
        Assert.Throws<TokenizerException>(() => t.Decode(new[] { t.VocabSize + 5 }));
    }

    [Fact]
    public void BatchEncodingEqualsOneByOne()
    {
        var t = RobertaTok();
        var texts = Enumerable.Range(0, 500).Select(i => $"hello {i} the world {new string('a', i % 37)} 😀").ToList();
        var batch = t.EncodeBatch(texts);
        Assert.Equal(texts.Count, batch.Rows.Count);
        for (int i = 0; i < texts.Count; i++) Assert.Equal(t.Encode(texts[i]).InputIds, batch.Rows[i].InputIds);
        Assert.Equal(Enumerable.Range(0, texts.Count), batch.OverflowToSampleMapping);
    }

    [Fact]
    public void EmptyTextIsJustTheSpecialTokens()
    {
        var t = RobertaTok();
        Assert.Equal([0, 2], t.Encode("").InputIds);
        Assert.Equal([0, 2, 2, 2], t.Encode("", "").InputIds);
        Assert.Empty(t.Encode("", options: NoSpecial).InputIds);
    }
}
