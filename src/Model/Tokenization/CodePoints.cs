namespace Cluster.Model.Tokenization;

/// <summary>Strings indexed by code point, as Python's <c>str</c> is: SQuAD's answer_start and the tokenizer's offsets
/// count code points, which differ from UTF-16 indices after a character outside the BMP.</summary>
public static class CodePoints
{
    public static int Count(string text) => text.EnumerateRunes().Count();

    /// <summary>The text between two code-point offsets (Python's <c>text[start:end]</c>); null when the range does not
    /// lie within the text.</summary>
    public static string? Slice(string text, int start, int end) => new CodePointText(text).Slice(start, end);
}

/// <summary>A text with the UTF-16 offset of each code point, for many slices of one text (a pipeline's every token)
/// in O(1) each instead of a walk from the start each time.</summary>
public sealed class CodePointText
{
    readonly string _text;
    readonly int[] _offsets; // _offsets[cp]: where code point cp starts; _offsets[Count]: the text's length

    public CodePointText(string text)
    {
        _text = text;
        var offsets = new List<int>(text.Length + 1);
        for (var i = 0; i < text.Length; i += char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1)
            offsets.Add(i);
        offsets.Add(text.Length);
        _offsets = [.. offsets];
    }

    public int Count => _offsets.Length - 1;

    /// <summary>Python's <c>text[start:end]</c> in code points; null when the range does not lie within the text.</summary>
    public string? Slice(int start, int end) =>
        start < 0 || end < start || end > Count ? null : _text[_offsets[start].._offsets[end]];
}
