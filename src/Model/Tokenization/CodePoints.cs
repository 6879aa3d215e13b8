namespace Cluster.Model.Tokenization;

/// <summary>Strings indexed by code point, as Python's <c>str</c> is: SQuAD's answer_start and the tokenizer's offsets
/// count code points, which differ from UTF-16 indices after a character outside the BMP.</summary>
public static class CodePoints
{
    public static int Count(string text) => text.EnumerateRunes().Count();

    /// <summary>The text between two code-point offsets (Python's <c>text[start:end]</c>); null when the range does not
    /// lie within the text.</summary>
    public static string? Slice(string text, int start, int end)
    {
        if (start < 0 || end < start) return null;
        int from = -1, i = 0;
        for (var cp = 0; ; cp++)
        {
            if (cp == start) from = i;
            if (cp == end) return text[from..i];
            if (i >= text.Length) return null;
            i += char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
        }
    }
}
