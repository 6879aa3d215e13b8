using System.Text;

namespace Cluster.Model.Tokenization;

/// <summary>
/// WordPiece: greedy longest-match-first over a word's characters, continuation pieces spelled with "##"; a word
/// with any unmatched remainder, or longer than max_input_chars_per_word, becomes one unknown token.
/// </summary>
internal sealed class WordPieceModel
{
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    public WordPieceModel(Dictionary<string, int> vocab, string unkToken, int maxInputCharsPerWord = 100)
    {
        Vocab = vocab;
        _bySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        UnkToken = unkToken;
        UnkId = vocab.TryGetValue(unkToken, out int unk) ? unk : -1;
        MaxInputCharsPerWord = maxInputCharsPerWord;
    }

    public Dictionary<string, int> Vocab { get; }
    public string UnkToken { get; }
    public int UnkId { get; }
    public int MaxInputCharsPerWord { get; }

    /// <summary>Appends (token, first char, end char) for each piece of a word given as code points.</summary>
    public void Tokenize(IReadOnlyList<SourcedChar> word, List<(string Token, int Id, int First, int End)> output)
    {
        if (word.Count > MaxInputCharsPerWord) { output.Add((UnkToken, UnkId, 0, word.Count)); return; }
        string spelled = BasicTokenizer.Spell(word);
        // UTF-16 index of each code point, so a piece [a, b) of code points is spelled[at[a]..at[b]].
        var at = new int[word.Count + 1];
        for (int k = 0; k < word.Count; k++) at[k + 1] = at[k] + (word[k].CodePoint > 0xFFFF ? 2 : 1);
        int mark = output.Count;
        Span<char> buffer = stackalloc char[spelled.Length + 2];
        buffer[0] = '#'; buffer[1] = '#';
        for (int startChar = 0; startChar < word.Count;)
        {
            int endChar = word.Count;
            bool found = false;
            while (startChar < endChar)
            {
                var piece = spelled.AsSpan(at[startChar], at[endChar] - at[startChar]);
                scoped ReadOnlySpan<char> key = piece;
                if (startChar > 0) { piece.CopyTo(buffer[2..]); key = buffer[..(piece.Length + 2)]; }
                if (_bySpan.TryGetValue(key, out string? token, out int id))
                {
                    output.Add((token, id, startChar, endChar));
                    found = true;
                    break;
                }
                endChar--;
            }
            if (!found)
            {
                output.RemoveRange(mark, output.Count - mark);
                output.Add((UnkToken, UnkId, 0, word.Count));
                return;
            }
            startChar = endChar;
        }
    }

    /// <summary>HF's convert_tokens_to_string for WordPiece: join with spaces, glue "##" pieces to the one before.</summary>
    public static string Join(IReadOnlyList<string> tokens) => new StringBuilder(string.Join(' ', tokens)).Replace(" ##", "").ToString().Trim();
}
