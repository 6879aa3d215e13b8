using Cluster.Model.Tokenization;
using Xunit;

namespace Cluster.Model.Tests.Tokenization;

public sealed class CodePointTextTests
{
    [Fact]
    public void Every_slice_is_pythons_code_point_slice_and_out_of_range_is_null()
    {
        // Characters outside the BMP (two UTF-16 units each) among ordinary ones; a lone surrogate counts as one.
        const string text = "a😀b c𝄞d\ud800e";
        var runes = text.EnumerateRunes().Select(r => r.ToString()).ToArray(); // the reference: one string per code point
        var indexed = new CodePointText(text);
        Assert.Equal(runes.Length, indexed.Count);
        Assert.Equal(CodePoints.Count(text), indexed.Count);
        for (var start = 0; start <= runes.Length; start++)
            for (var end = start; end <= runes.Length; end++)
            {
                var expected = string.Concat(runes[start..end]).Replace("\ufffd", "\ud800"); // EnumerateRunes replaces the lone one
                Assert.Equal(expected, indexed.Slice(start, end));
                Assert.Equal(CodePoints.Slice(text, start, end), indexed.Slice(start, end));
            }
        Assert.Null(indexed.Slice(0, runes.Length + 1));
        Assert.Null(indexed.Slice(3, 2));
        Assert.Null(indexed.Slice(-1, 2));
        Assert.Equal("", new CodePointText("").Slice(0, 0));
    }
}
