using System.Globalization;
using System.Text;

namespace Cluster.Model.Tokenization;

/// <summary>One code point of a word with the UTF-16 range of the text it came from.</summary>
internal readonly record struct SourcedChar(int CodePoint, int Start, int End);

/// <summary>
/// BERT's BasicTokenizer (HF's, which RoCBert copies): drop control characters, isolate CJK ideographs, NFC, split on
/// whitespace, lower-case and strip accents as configured, split off punctuation. Unlike HF's Python version it
/// remembers where every character came from, so WordPiece tokens get offsets.
/// </summary>
internal sealed class BasicTokenizer(bool lowerCase, bool? stripAccents, bool tokenizeChineseChars, IReadOnlySet<string> neverSplit)
{
    public List<List<SourcedChar>> Tokenize(string text, int start, int end)
    {
        var words = new List<List<SourcedChar>>();
        var current = new List<SourcedChar>();
        void Flush()
        {
            if (current.Count > 0) { words.AddRange(ProcessToken(current)); current = []; }
        }
        for (int i = start; i < end;)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i, end - i), out var rune, out int used);
            int cp = rune.Value;
            var c = new SourcedChar(cp, i, i + used);
            i += used;
            if (cp == 0 || cp == 0xFFFD || IsControl(rune)) continue;
            if (IsSeparator(rune)) { Flush(); continue; }
            if (tokenizeChineseChars && IsChineseChar(cp)) { Flush(); current.Add(c); Flush(); continue; }
            current.Add(c);
        }
        Flush();
        return words;
    }

    private IEnumerable<List<SourcedChar>> ProcessToken(List<SourcedChar> token)
    {
        token = Normalize(token, NormalizationForm.FormC);
        if (neverSplit.Count > 0 && neverSplit.Contains(Spell(token))) return [token];
        if (lowerCase) token = LowerCase(token);
        if (stripAccents ?? lowerCase) token = StripAccents(token);
        if (neverSplit.Count > 0 && neverSplit.Contains(Spell(token))) return [token];
        return SplitOnPunctuation(token);
    }

    private static List<List<SourcedChar>> SplitOnPunctuation(List<SourcedChar> token)
    {
        var words = new List<List<SourcedChar>>();
        List<SourcedChar>? word = null;
        foreach (var c in token)
        {
            if (IsPunctuation(c.CodePoint)) { words.Add([c]); word = null; }
            else { if (word is null) words.Add(word = []); word.Add(c); }
        }
        return words;
    }

    public static string Spell(IReadOnlyList<SourcedChar> chars)
    {
        var sb = new StringBuilder(chars.Count);
        foreach (var c in chars) sb.Append(char.ConvertFromUtf32(c.CodePoint));
        return sb.ToString();
    }

    /// <summary>
    /// Normalizes per base character and its combining marks, each output character keeping the source of its
    /// cluster; falls back to the whole token as the source in the rare case clusters interact (Hangul jamo).
    /// </summary>
    private static List<SourcedChar> Normalize(List<SourcedChar> token, NormalizationForm form)
    {
        string whole = Spell(token);
        if (whole.IsNormalized(form)) return token;
        var result = new List<SourcedChar>();
        int i = 0;
        while (i < token.Count)
        {
            int j = i + 1;
            while (j < token.Count && IsMark(token[j].CodePoint)) j++;
            foreach (var r in Spell(token.GetRange(i, j - i)).Normalize(form).EnumerateRunes())
                result.Add(new SourcedChar(r.Value, token[i].Start, token[j - 1].End));
            i = j;
        }
        string expected = whole.Normalize(form);
        if (Spell(result) == expected) return result;
        return expected.EnumerateRunes().Select(r => new SourcedChar(r.Value, token[0].Start, token[^1].End)).ToList();
    }

    /// <summary>Python's str.lower(): full case mapping, with Σ becoming final ς at the end of a word.</summary>
    private static List<SourcedChar> LowerCase(List<SourcedChar> token)
    {
        var result = new List<SourcedChar>(token.Count);
        for (int k = 0; k < token.Count; k++)
        {
            var c = token[k];
            if (c.CodePoint == 'Σ')
            {
                bool afterLetter = k > 0 && Rune.IsLetter(new Rune(token[k - 1].CodePoint));
                bool beforeLetter = k + 1 < token.Count && Rune.IsLetter(new Rune(token[k + 1].CodePoint));
                result.Add(c with { CodePoint = afterLetter && !beforeLetter ? 'ς' : 'σ' });
            }
            else if (c.CodePoint == 'İ')
            {
                result.Add(c with { CodePoint = 'i' });
                result.Add(c with { CodePoint = 0x0307 });
            }
            else result.Add(c with { CodePoint = Rune.ToLowerInvariant(new Rune(c.CodePoint)).Value });
        }
        return result;
    }

    private static List<SourcedChar> StripAccents(List<SourcedChar> token)
    {
        var result = new List<SourcedChar>(token.Count);
        foreach (var c in token)
        {
            if (c.CodePoint < 0x80) { result.Add(c); continue; }
            foreach (var r in char.ConvertFromUtf32(c.CodePoint).Normalize(NormalizationForm.FormD).EnumerateRunes())
                if (Rune.GetUnicodeCategory(r) != UnicodeCategory.NonSpacingMark) result.Add(c with { CodePoint = r.Value });
        }
        return result;
    }

    private static bool IsMark(int cp) => Rune.GetUnicodeCategory(new Rune(cp)) is
        UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark;

    /// <summary>HF's _is_control: categories C*, except tab, newline and carriage return (which are whitespace).</summary>
    private static bool IsControl(Rune r) => r.Value is not ('\t' or '\n' or '\r') && Rune.GetUnicodeCategory(r) is
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    /// <summary>What separates tokens after _clean_text: its whitespace (space, \t\n\r, Zs) and what str.split() adds (Zl, Zp).</summary>
    private static bool IsSeparator(Rune r) => r.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(r) is
        UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;

    /// <summary>HF's _is_punctuation: all non-letter/number ASCII symbols, and every Unicode P* category.</summary>
    public static bool IsPunctuation(int cp)
    {
        if (cp is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(new Rune(cp)) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>The CJK Unified Ideographs blocks BERT isolates (not Hangul, Hiragana or Katakana).</summary>
    public static bool IsChineseChar(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
