using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Cluster.Model.Tokenization;

/// <summary>One code point of a word with the UTF-16 range of the text it came from.</summary>
internal readonly record struct SourcedChar(int CodePoint, int Start, int End);

/// <summary>
/// The words of a text as ranges of one shared character list: tokenizing a text allocates nothing per word, and the
/// list is reused across texts on a thread.
/// </summary>
internal sealed class WordList
{
    private readonly List<SourcedChar> _chars = [];
    private readonly List<(int Start, int Count)> _ranges = [];

    public int Count => _ranges.Count;
    public ReadOnlySpan<SourcedChar> this[int word] => CollectionsMarshal.AsSpan(_chars).Slice(_ranges[word].Start, _ranges[word].Count);
    internal List<SourcedChar> Chars => _chars;

    public void Clear() { _chars.Clear(); _ranges.Clear(); }
    /// <summary>Characters [start, start + count) of <see cref="Chars"/> form the next word.</summary>
    internal void AddRange(int start, int count) => _ranges.Add((start, count));
    internal void AddWord(List<SourcedChar> word)
    {
        _ranges.Add((_chars.Count, word.Count));
        _chars.AddRange(word);
    }
}

/// <summary>
/// BERT's BasicTokenizer (HF's, which RoCBert copies): drop control characters, isolate CJK ideographs, NFC, split on
/// whitespace, lower-case and strip accents as configured, split off punctuation. Unlike HF's Python version it
/// remembers where every character came from, so WordPiece tokens get offsets.
///
/// ASCII-only tokens and lone CJK ideographs take a path that works in place on the shared list (NFC and accent
/// stripping leave them unchanged); any other token goes through the general Unicode path.
/// </summary>
internal sealed class BasicTokenizer(bool lowerCase, bool? stripAccents, bool tokenizeChineseChars, IReadOnlySet<string> neverSplit)
{
    /// <summary>Appends the words of text[start, end) to <paramref name="words"/>.</summary>
    public void Tokenize(string text, int start, int end, WordList words)
    {
        var chars = words.Chars;
        int token = chars.Count;
        bool ascii = true;
        void Flush()
        {
            if (chars.Count > token) ProcessToken(words, token, ascii);
            token = chars.Count;
            ascii = true;
        }
        for (int i = start; i < end;)
        {
            char ch = text[i];
            if (ch < 0x80)
            {
                // ASCII: tab, newline, return and space separate; the other C0 controls and DEL are dropped.
                if (ch is ' ' or '\t' or '\n' or '\r') Flush();
                else if (ch >= 32 && ch != 127) chars.Add(new SourcedChar(ch, i, i + 1));
                i++;
                continue;
            }
            Rune.DecodeFromUtf16(text.AsSpan(i, end - i), out var rune, out int used);
            int cp = rune.Value;
            var c = new SourcedChar(cp, i, i + used);
            i += used;
            if (cp == 0xFFFD || IsControl(rune)) continue;
            if (IsSeparator(rune)) { Flush(); continue; }
            if (tokenizeChineseChars && IsChineseChar(cp))
            {
                Flush();
                chars.Add(c);
                if (IsNormalizationStableIdeograph(cp)) words.AddRange(chars.Count - 1, 1);
                else { ascii = false; Flush(); }
                token = chars.Count;
                continue;
            }
            ascii = false;
            chars.Add(c);
        }
        Flush();
    }

    /// <summary>The words as strings (vocabulary training).</summary>
    public IEnumerable<string> Words(string text)
    {
        var words = new WordList();
        Tokenize(text, 0, text.Length, words);
        for (int w = 0; w < words.Count; w++) yield return Spell(words[w]);
    }

    /// <summary>Turns the token in chars[from..] into words.</summary>
    private void ProcessToken(WordList words, int from, bool ascii)
    {
        var chars = words.Chars;
        int count = chars.Count - from;
        if (ascii)
        {
            var span = CollectionsMarshal.AsSpan(chars).Slice(from, count);
            if (neverSplit.Count > 0 && neverSplit.Contains(Spell(span))) { words.AddRange(from, count); return; }
            if (lowerCase)
                foreach (ref var c in span)
                    if (c.CodePoint is >= 'A' and <= 'Z') c = c with { CodePoint = c.CodePoint + ('a' - 'A') };
            if (neverSplit.Count > 0 && neverSplit.Contains(Spell(span))) { words.AddRange(from, count); return; }
        }
        else if (neverSplit.Count > 0 || !TryFoldInPlace(chars, from, ref count))
        {
            var token = chars.GetRange(from, count);
            chars.RemoveRange(from, count);
            foreach (var w in ProcessUnicodeToken(token)) words.AddWord(w);
            return;
        }
        int word = from;
        for (int k = from; k < from + count; k++)
        {
            if (!IsPunctuation(chars[k].CodePoint)) continue;
            if (k > word) words.AddRange(word, k - word);
            words.AddRange(k, 1);
            word = k + 1;
        }
        if (from + count > word) words.AddRange(word, from + count - word);
    }

    /// <summary>
    /// Lower-cases and strips accents in place, when that gives what the general path would: the token is already NFC
    /// and no character becomes more than one (İ, or a Hangul syllable that NFD splits into jamo, does). Removed marks
    /// shrink the token (<paramref name="count"/>). False, with nothing changed, otherwise.
    /// </summary>
    private bool TryFoldInPlace(List<SourcedChar> chars, int from, ref int count)
    {
        var span = CollectionsMarshal.AsSpan(chars).Slice(from, count);
        if (!Spell(span).IsNormalized(NormalizationForm.FormC)) return false;
        bool strip = stripAccents ?? lowerCase;
        if (!lowerCase && !strip) return true;
        foreach (var c in span)
            if (c.CodePoint == 'İ' && lowerCase || c.CodePoint != 'Σ' && Fold(c.CodePoint, strip).Length > 1) return false;
        int kept = 0, previous = -1;
        for (int k = 0; k < span.Length; k++)
        {
            var c = span[k];   // read before the write below: kept <= k
            if (c.CodePoint == 'Σ' && lowerCase)
            {
                // Python's final sigma, judged on the original neighbours as the general path does.
                bool afterLetter = previous >= 0 && Rune.IsLetter(new Rune(previous));
                bool beforeLetter = k + 1 < span.Length && Rune.IsLetter(new Rune(span[k + 1].CodePoint));
                span[kept++] = c with { CodePoint = afterLetter && !beforeLetter ? 'ς' : 'σ' };
            }
            else
                foreach (int cp in Fold(c.CodePoint, strip)) span[kept++] = c with { CodePoint = cp };
            previous = c.CodePoint;
        }
        chars.RemoveRange(from + kept, count - kept);
        count = kept;
        return true;
    }

    [ThreadStatic] private static Dictionary<int, int[]>? t_folded;

    /// <summary>One character lower-cased (if configured) and then without accents (if asked): zero or more code points,
    /// remembered per thread.</summary>
    private int[] Fold(int cp, bool strip)
    {
        int key = cp | (lowerCase ? 1 << 22 : 0) | (strip ? 1 << 23 : 0);
        var cache = t_folded ??= [];
        if (cache.TryGetValue(key, out var folded)) return folded;
        int lower = lowerCase ? Rune.ToLowerInvariant(new Rune(cp)).Value : cp;
        folded = strip && lower >= 0x80 ? WithoutAccents(lower) : [lower];
        if (cache.Count < 1 << 16) cache[key] = folded;
        return folded;
    }

    private IEnumerable<List<SourcedChar>> ProcessUnicodeToken(List<SourcedChar> token)
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

    public static string Spell(List<SourcedChar> chars) => Spell(CollectionsMarshal.AsSpan(chars));

    public static string Spell(ReadOnlySpan<SourcedChar> chars)
    {
        var sb = new StringBuilder(chars.Length);
        foreach (var c in chars)
            if (c.CodePoint < 0x10000) sb.Append((char)c.CodePoint);
            else sb.Append(char.ConvertFromUtf32(c.CodePoint));
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
            foreach (int cp in WithoutAccents(c.CodePoint)) result.Add(c with { CodePoint = cp });
        }
        return result;
    }

    [ThreadStatic] private static Dictionary<int, int[]>? t_withoutAccents;

    /// <summary>A character's NFD without its non-spacing marks (HF's _run_strip_accents), remembered per thread:
    /// normalizing one character allocates two strings.</summary>
    private static int[] WithoutAccents(int cp)
    {
        var cache = t_withoutAccents ??= [];
        if (cache.TryGetValue(cp, out var kept)) return kept;
        kept = char.ConvertFromUtf32(cp).Normalize(NormalizationForm.FormD).EnumerateRunes()
            .Where(r => Rune.GetUnicodeCategory(r) != UnicodeCategory.NonSpacingMark).Select(r => r.Value).ToArray();
        if (cache.Count < 1 << 16) cache[cp] = kept;
        return kept;
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

    /// <summary>Ideographs outside the compatibility blocks: NFC, NFD and lower-casing leave them as they are, and
    /// none is punctuation, so a lone one is a word by itself.</summary>
    private static bool IsNormalizationStableIdeograph(int cp) => cp is not (>= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F);

    /// <summary>The CJK Unified Ideographs blocks BERT isolates (not Hangul, Hiragana or Katakana).</summary>
    public static bool IsChineseChar(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
