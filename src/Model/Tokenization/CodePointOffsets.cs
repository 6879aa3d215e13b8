namespace Cluster.Model.Tokenization;

/// <summary>
/// Offsets are computed in UTF-16 units and reported in code points, the unit of Python's str and so of HF's
/// offset_mapping; they differ only after a character outside the BMP (emoji, rare CJK).
/// </summary>
internal static class CodePointOffsets
{
    public static void Convert(string text, List<TokenSpan> spans, int from)
    {
        int firstSurrogate = text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (firstSurrogate < 0 || from == spans.Count) return;
        var codePointAt = new int[text.Length + 1];
        int cp = 0;
        for (int i = 0; i < text.Length; i++)
        {
            codePointAt[i] = cp;
            if (!(char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))) cp++;
            else codePointAt[++i] = cp++;
        }
        codePointAt[text.Length] = cp;
        for (int i = from; i < spans.Count; i++)
        {
            var s = spans[i];
            s.Start = codePointAt[s.Start];
            // An end inside a pair (cannot happen for whole characters) still counts the whole character.
            s.End = s.End > 0 && s.End < text.Length && char.IsLowSurrogate(text[s.End]) ? codePointAt[s.End] + 1 : codePointAt[s.End];
            spans[i] = s;
        }
    }
}
