namespace Cluster.Model.Tokenization;

/// <summary>
/// Pads rows to a length as HF does: pad id, type id 0, attention 0, special-tokens mask 1, offsets (0, 0), no word.
/// RoCBert's shape and pronunciation ids are padded with the pad token's id, as its HF tokenizer does.
/// </summary>
internal static class Padding
{
    public static TokenEncoding WithOverflowing(TokenEncoding main, IReadOnlyList<TokenEncoding> overflowing) => overflowing.Count == 0
        ? main
        : new TokenEncoding
        {
            InputIds = main.InputIds, TokenTypeIds = main.TokenTypeIds, AttentionMask = main.AttentionMask,
            SpecialTokensMask = main.SpecialTokensMask, Offsets = main.Offsets, WordIds = main.WordIds,
            SequenceIds = main.SequenceIds, InputShapeIds = main.InputShapeIds,
            InputPronunciationIds = main.InputPronunciationIds, Overflowing = overflowing,
        };

    public static TokenEncoding Pad(TokenEncoding e, int length, PaddingSide side, int padId, bool withOverflow)
    {
        var overflowing = withOverflow ? e.Overflowing.Select(o => Pad(o, length, side, padId, false)).ToList() : [];
        int missing = length - e.Length;
        if (missing <= 0) return withOverflow ? WithOverflowing(e, overflowing) : WithOverflowing(e, []);
        return new TokenEncoding
        {
            InputIds = Extend(e.InputIds, missing, padId, side),
            TokenTypeIds = Extend(e.TokenTypeIds, missing, 0, side),
            AttentionMask = Extend(e.AttentionMask, missing, 0, side),
            SpecialTokensMask = Extend(e.SpecialTokensMask, missing, 1, side),
            Offsets = Extend(e.Offsets, missing, (0, 0), side),
            WordIds = Extend(e.WordIds, missing, null, side),
            SequenceIds = Extend(e.SequenceIds, missing, null, side),
            InputShapeIds = e.InputShapeIds is null ? null : Extend(e.InputShapeIds, missing, padId, side),
            InputPronunciationIds = e.InputPronunciationIds is null ? null : Extend(e.InputPronunciationIds, missing, padId, side),
            Overflowing = overflowing,
        };
    }

    private static T[] Extend<T>(T[] values, int missing, T fill, PaddingSide side)
    {
        var result = new T[values.Length + missing];
        int at = side == PaddingSide.Right ? 0 : missing;
        Array.Fill(result, fill);
        values.CopyTo(result, at);
        return result;
    }
}
