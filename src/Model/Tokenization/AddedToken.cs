using System.Buffers;

namespace Cluster.Model.Tokenization;

/// <summary>
/// A token matched whole in raw text before the model sees it (HF's AddedToken). LStrip/RStrip let the token absorb
/// the whitespace beside it, as RoBERTa's &lt;mask&gt; does with the space before it.
/// </summary>
public sealed record AddedToken(string Content, int Id, bool Special = true, bool LStrip = false, bool RStrip = false);

/// <summary>Finds added tokens in text: leftmost match, longest first at a position.</summary>
internal sealed class AddedTokenMatcher
{
    private readonly Dictionary<char, AddedToken[]> _byFirstChar;
    private readonly SearchValues<char> _firstChars;   // a vectorized scan skips text that cannot start a token

    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        _byFirstChar = tokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
        _firstChars = SearchValues.Create([.. _byFirstChar.Keys]);
    }

    /// <summary>Segments of text into segments (cleared first): (start, end, token) with token null for ordinary text between matches.</summary>
    public void Split(string text, List<(int Start, int End, AddedToken? Token)> segments)
    {
        segments.Clear();
        int plainStart = 0;
        for (int i = 0; i < text.Length; i++)
        {
            int skip = text.AsSpan(i).IndexOfAny(_firstChars);
            if (skip < 0) break;
            i += skip;
            var candidates = _byFirstChar[text[i]];
            AddedToken? match = null;
            foreach (var c in candidates)
                if (string.CompareOrdinal(text, i, c.Content, 0, c.Content.Length) == 0) { match = c; break; }
            if (match is null) continue;
            int start = i, end = i + match.Content.Length;
            if (match.LStrip) while (start > plainStart && char.IsWhiteSpace(text[start - 1])) start--;
            if (match.RStrip) while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
            if (start > plainStart) segments.Add((plainStart, start, null));
            segments.Add((start, end, match));
            plainStart = end;
            i = end - 1;
        }
        if (plainStart < text.Length) segments.Add((plainStart, text.Length, null));
    }
}
