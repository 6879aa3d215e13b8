using System.Text;

namespace Cluster.Model.Tokenization;

/// <summary>
/// WordPiece: greedy longest-match-first over a word's characters, continuation pieces spelled with "##"; a word
/// with any unmatched remainder, or longer than max_input_chars_per_word, becomes one unknown token.
/// </summary>
internal sealed class WordPieceModel
{
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    /// <param name="unkId">the unknown token's id when the vocabulary lacks it (an added token, as HF would add it)</param>
    public WordPieceModel(Dictionary<string, int> vocab, string unkToken, int maxInputCharsPerWord = 100, int unkId = -1)
    {
        Vocab = vocab;
        _bySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        UnkToken = unkToken;
        UnkId = vocab.TryGetValue(unkToken, out int unk) ? unk : unkId;
        MaxInputCharsPerWord = maxInputCharsPerWord;
    }

    public Dictionary<string, int> Vocab { get; }
    public string UnkToken { get; }
    public int UnkId { get; }
    public int MaxInputCharsPerWord { get; }

    /// <summary>Appends (id, first char, end char) for each piece of a word given as code points.</summary>
    public void Tokenize(ReadOnlySpan<SourcedChar> word, List<(int Id, int First, int End)> output)
    {
        int n = word.Length;
        if (n > MaxInputCharsPerWord) { output.Add((UnkId, 0, n)); return; }
        // The word spelled in UTF-16 after two free slots; at[k] is where code point k starts. A continuation piece
        // starting at code point k is looked up as "##" written over the two slots before it, which hold characters
        // already consumed (or the free slots), so no piece is ever copied.
        Span<char> buffer = n <= 128 ? stackalloc char[2 + 2 * 128] : new char[2 + 2 * n];
        Span<int> at = n <= 128 ? stackalloc int[128 + 1] : new int[n + 1];
        int length = 0;
        for (int k = 0; k < n; k++)
        {
            at[k] = length;
            int cp = word[k].CodePoint;
            if (cp < 0x10000) buffer[2 + length++] = (char)cp;
            else
            {
                new Rune(cp).EncodeToUtf16(buffer[(2 + length)..]);
                length += 2;
            }
        }
        at[n] = length;
        int mark = output.Count;
        for (int startChar = 0; startChar < n;)
        {
            int keyStart = 2 + at[startChar];
            if (startChar > 0) { keyStart -= 2; buffer[keyStart] = '#'; buffer[keyStart + 1] = '#'; }
            int endChar = n, id = -1;
            for (; endChar > startChar; endChar--)
                if (_bySpan.TryGetValue(buffer[keyStart..(2 + at[endChar])], out _, out id)) break;
            if (endChar == startChar)
            {
                output.RemoveRange(mark, output.Count - mark);
                output.Add((UnkId, 0, n));
                return;
            }
            output.Add((id, startChar, endChar));
            startChar = endChar;
        }
    }

    /// <summary>HF's convert_tokens_to_string for WordPiece: join with spaces, glue "##" pieces to the one before.</summary>
    public static string Join(IReadOnlyList<string> tokens) => new StringBuilder(string.Join(' ', tokens)).Replace(" ##", "").ToString().Trim();
}
