namespace Cluster.Model.Tokenization;

/// <summary>
/// One token while a sequence is being built: its id, where it came from in the sequence's text (UTF-16 until the
/// sequence is finished, then code points), its word, and RoCBert's shape and pronunciation ids.
/// </summary>
internal struct TokenSpan
{
    public int Id;
    public int Start;
    public int End;
    public int Word;
    public int Shape;
    public int Pronunciation;
}

/// <summary>Where special tokens go around one or two sequences: Prefix A Suffix, or Prefix A Middle B Suffix.</summary>
internal sealed record Template(int[] Prefix, int[] Middle, int[] Suffix, bool SecondSequenceTypeIdIsOne)
{
    public int Count(bool pair) => Prefix.Length + Suffix.Length + (pair ? Middle.Length : 0);
}
