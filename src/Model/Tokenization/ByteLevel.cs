using System.Text;

namespace Cluster.Model.Tokenization;

/// <summary>
/// GPT-2's byte-level scheme: every UTF-8 byte is shown as a printable character (so a vocabulary of strings covers
/// all bytes, space becoming 'Ġ'), and text is first cut by GPT-2's pattern
/// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>, implemented here as a scanner
/// with the same leftmost-alternative semantics (a regex engine is several times slower).
/// </summary>
internal static class ByteLevel
{
    public static readonly char[] ByteToChar = BuildByteToChar();
    public static readonly Dictionary<char, byte> CharToByte =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var printable = new bool[256];
        foreach (var (lo, hi) in new[] { ('!', '~'), ('¡', '¬'), ('®', 'ÿ') })
            for (int b = lo; b <= hi; b++) { printable[b] = true; map[b] = (char)b; }
        int next = 256;
        for (int b = 0; b < 256; b++) if (!printable[b]) map[b] = (char)next++;
        return map;
    }

    /// <summary>The byte-level spelling of text: its UTF-8 bytes as table characters.</summary>
    public static string ToByteChars(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    private const byte Other = 0, Letter = 1, Number = 2, Space = 3;
    private static readonly byte[] AsciiClass = BuildAsciiClass();

    private static byte[] BuildAsciiClass()
    {
        var table = new byte[128];
        for (int c = 0; c < 128; c++) table[c] = Classify(new Rune(c));
        return table;
    }

    private static byte Classify(Rune r)
    {
        if (Rune.IsWhiteSpace(r)) return Space;
        return Rune.GetUnicodeCategory(r) switch
        {
            >= System.Globalization.UnicodeCategory.UppercaseLetter and <= System.Globalization.UnicodeCategory.OtherLetter => Letter,
            >= System.Globalization.UnicodeCategory.DecimalDigitNumber and <= System.Globalization.UnicodeCategory.OtherNumber => Number,
            _ => Other,
        };
    }

    /// <summary>Class of the character at i and its width in UTF-16 units (a lone surrogate is one unit of Other).</summary>
    private static byte ClassAt(string s, int i, out int width)
    {
        char c = s[i];
        width = 1;
        if (c < 128) return AsciiClass[c];
        if (char.IsSurrogate(c))
        {
            if (!Rune.TryGetRuneAt(s, i, out var rune)) return Other;
            width = 2;
            return Classify(rune);
        }
        return Classify(new Rune(c));
    }

    /// <summary>Calls <paramref name="emit"/>(start, end) for each GPT-2 pre-token of s[start, end), in order.</summary>
    public static void PreTokenize<TSink>(string s, int start, int end, ref TSink emit) where TSink : struct, IRangeSink
    {
        int i = start;
        while (i < end)
        {
            char c = s[i];
            if (c == '\'' && i + 1 < end)
            {
                char d = s[i + 1];
                if (d is 's' or 't' or 'm' or 'd') { emit.Add(i, i + 2); i += 2; continue; }
                if (i + 2 < end && ((d == 'r' && s[i + 2] == 'e') || (d == 'v' && s[i + 2] == 'e') || (d == 'l' && s[i + 2] == 'l')))
                {
                    emit.Add(i, i + 3); i += 3; continue;
                }
            }
            byte cls = ClassAt(s, i, out int width);
            int runStart = i;
            if (c == ' ' && i + 1 < end)
            {
                // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": one space joins the run after it.
                byte next = ClassAt(s, i + 1, out int nextWidth);
                if (next != Space) { cls = next; runStart = i + 1; width = nextWidth; }
            }
            if (cls == Space)
            {
                int k = i, last = i;
                while (k < end && ClassAt(s, k, out int w) == Space) { last = k; k += w; }
                if (k == end) { emit.Add(i, end); i = end; }
                else if (last > i) { emit.Add(i, last); i = last; }   // \s+(?!\S): leave the last space to the word after it
                else { emit.Add(i, k); i = k; }                       // a lone non-' ' space before a word: \s+
                continue;
            }
            int r = runStart + width;
            while (r < end && ClassAt(s, r, out int w) == cls) r += w;
            emit.Add(i, r);
            i = r;
        }
    }
}

/// <summary>Receives ranges without allocating a delegate per call.</summary>
internal interface IRangeSink
{
    void Add(int start, int end);
}
