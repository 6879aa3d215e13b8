namespace Cluster.Model.Tokenization;

/// <summary>Fills the parallel arrays of one <see cref="TokenEncoding"/> token by token.</summary>
internal sealed class RowBuilder(int length, bool withShapeAndPronunciation)
{
    private readonly int[] _ids = new int[length], _types = new int[length], _special = new int[length];
    private readonly (int, int)[] _offsets = new (int, int)[length];
    private readonly int?[] _words = new int?[length], _sequences = new int?[length];
    private readonly int[]? _shapes = withShapeAndPronunciation ? new int[length] : null;
    private readonly int[]? _pronunciations = withShapeAndPronunciation ? new int[length] : null;
    private int _n;

    public void AddSpecial(int id, int type, int shape, int pronunciation)
    {
        _ids[_n] = id; _types[_n] = type; _special[_n] = 1;
        if (_shapes is not null) { _shapes[_n] = shape; _pronunciations![_n] = pronunciation; }
        _n++;
    }

    public void AddToken(in TokenSpan token, int sequence, int type)
    {
        _ids[_n] = token.Id; _types[_n] = type; _offsets[_n] = (token.Start, token.End);
        _words[_n] = token.Word; _sequences[_n] = sequence;
        if (_shapes is not null) { _shapes[_n] = token.Shape; _pronunciations![_n] = token.Pronunciation; }
        _n++;
    }

    public TokenEncoding Build()
    {
        if (_n != length) throw new InvalidOperationException($"row built with {_n} of {length} tokens");
        var attention = new int[length];
        Array.Fill(attention, 1);
        return new TokenEncoding
        {
            InputIds = _ids, TokenTypeIds = _types, AttentionMask = attention,
            SpecialTokensMask = _special, Offsets = _offsets, WordIds = _words, SequenceIds = _sequences,
            InputShapeIds = _shapes, InputPronunciationIds = _pronunciations,
        };
    }
}
