namespace Cluster.Training.Masking;

/// <summary>
/// RoCBert's synthesised attack, as its public pretraining recipe makes one: a sentence of at least
/// <see cref="MinimumTokens"/> tokens gets max(⌊n × <see cref="Ratio"/>⌋, 2) of its n tokens swapped, each for another
/// token that is drawn alike (same shape id) or sounds alike (same pronunciation id). Which of the two is a draw; the
/// other is taken when a token has no alternative of the drawn kind. Special tokens and tokens that the maps give no
/// alternative are never chosen. Tokens a map leaves out share [UNK]'s id there, which says nothing about their
/// likeness, so they are not grouped by it. Like <see cref="DynamicMasking"/>, the attack is a pure function of (seed,
/// epoch, global example index), from a stream of its own, so it does not depend on the number of workers.
/// </summary>
public sealed class CharacterAttack
{
    /// <summary>The recipe's character attack ratio.</summary>
    public const double DefaultRatio = 0.15;
    /// <summary>The share of examples whose <i>input</i> is attacked too (the recipe's sentence attack ratio); the
    /// attacked copy is made for every example.</summary>
    public const double DefaultSentenceRatio = 0.1;
    public const int MinimumTokens = 6;
    const ulong Stream = 0xA77AC4_5EED_0001UL;   // keeps these draws apart from the masking's

    readonly int[] _shapeOf, _pronunciationOf;
    readonly int[][] _sameShape, _samePronunciation;
    readonly IReadOnlySet<int> _neverAttacked;

    /// <param name="shapeOf">each vocabulary id's shape id (word_shape.json; [UNK]'s for a token it lacks)</param>
    /// <param name="pronunciationOf">each vocabulary id's pronunciation id (word_pronunciation.json)</param>
    public CharacterAttack(IReadOnlyList<int> shapeOf, IReadOnlyList<int> pronunciationOf, int unknownShape, int unknownPronunciation,
                           IReadOnlySet<int> neverAttacked, double ratio = DefaultRatio, double sentenceRatio = DefaultSentenceRatio)
    {
        if (shapeOf.Count != pronunciationOf.Count)
            throw new ArgumentException($"{shapeOf.Count} shape ids but {pronunciationOf.Count} pronunciation ids");
        Ratio = ratio is > 0 and <= 1 ? ratio : throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "a ratio in (0, 1]");
        SentenceRatio = sentenceRatio is >= 0 and <= 1 ? sentenceRatio : throw new ArgumentOutOfRangeException(nameof(sentenceRatio), sentenceRatio, "a ratio in [0, 1]");
        (_shapeOf, _pronunciationOf, _neverAttacked) = (shapeOf.ToArray(), pronunciationOf.ToArray(), neverAttacked);
        _sameShape = Alternatives(_shapeOf, unknownShape, neverAttacked);
        _samePronunciation = Alternatives(_pronunciationOf, unknownPronunciation, neverAttacked);
    }

    /// <summary>The attack a RoCBert tokenizer's maps allow (word_shape.json, word_pronunciation.json, by vocabulary
    /// id); its special tokens are never attacked.</summary>
    public static CharacterAttack FromTokenizer(Cluster.Model.Tokenization.RoCBertTokenizer tokenizer)
    {
        var tokens = Enumerable.Range(0, tokenizer.VocabSize).Select(id => tokenizer.IdToToken(id) ?? tokenizer.Settings.UnkToken).ToArray();
        var special = tokenizer.AddedTokens.Where(t => t.Special).Select(t => t.Id).ToHashSet();
        return new CharacterAttack(tokens.Select(tokenizer.ShapeId).ToArray(), tokens.Select(tokenizer.PronunciationId).ToArray(),
            tokenizer.ShapeId(tokenizer.Settings.UnkToken), tokenizer.PronunciationId(tokenizer.Settings.UnkToken), special);
    }

    public double Ratio { get; }
    public double SentenceRatio { get; }
    public int ShapeOf(int id) => _shapeOf[id];
    public int PronunciationOf(int id) => _pronunciationOf[id];
    /// <summary>Whether any token can be swapped at all (a vocabulary whose maps group nothing cannot be attacked).</summary>
    public bool CanAttackAnything => _sameShape.Any(a => a.Length > 0) || _samePronunciation.Any(a => a.Length > 0);

    /// <summary>For each id, the other ids with the same value of <paramref name="feature"/>.</summary>
    static int[][] Alternatives(int[] feature, int unknown, IReadOnlySet<int> never)
    {
        var groups = new Dictionary<int, List<int>>();
        for (var id = 0; id < feature.Length; id++)
            if (feature[id] != unknown && !never.Contains(id))
                (groups.TryGetValue(feature[id], out var g) ? g : groups[feature[id]] = []).Add(id);
        var result = new int[feature.Length][];
        for (var id = 0; id < feature.Length; id++)
            result[id] = feature[id] != unknown && !never.Contains(id) && groups[feature[id]].Count > 1
                ? groups[feature[id]].Where(other => other != id).ToArray()
                : [];
        return result;
    }

    /// <summary>Whether example <paramref name="example"/>'s input is attacked as well as its copy.</summary>
    public bool AttacksInput(ulong seed, long epoch, long example) =>
        CounterRandom.Uniform(CounterRandom.Hash(seed ^ Stream, (ulong)epoch, (ulong)example, ulong.MaxValue)) < SentenceRatio;

    /// <summary>Writes the attacked copy of <paramref name="ids"/> (and its shape and pronunciation ids) and returns how
    /// many tokens were swapped. <paramref name="variant"/> tells apart two attacks of the same example (the copy, 0,
    /// and the input, 1).</summary>
    public int Apply(ulong seed, long epoch, long example, int variant, ReadOnlySpan<int> ids, Span<int> attacked, Span<int> shapes, Span<int> pronunciations)
    {
        ids.CopyTo(attacked);
        for (var i = 0; i < ids.Length; i++) (shapes[i], pronunciations[i]) = (_shapeOf[ids[i]], _pronunciationOf[ids[i]]);
        var tokens = 0;
        foreach (var id in ids) if (!_neverAttacked.Contains(id)) tokens++;
        if (tokens < MinimumTokens) return 0;
        var wanted = Math.Max((int)(tokens * Ratio), 2);

        // Sampling without replacement: the attackable positions with the smallest draws.
        var stream = CounterRandom.Hash(seed ^ Stream, (ulong)epoch, (ulong)example, (ulong)variant);
        var candidates = new List<(ulong Draw, int Position)>();
        for (var i = 0; i < ids.Length; i++)
            if (_sameShape[ids[i]].Length > 0 || _samePronunciation[ids[i]].Length > 0)
                candidates.Add((CounterRandom.Hash(stream, (ulong)i, 0, 0), i));
        candidates.Sort();
        var swapped = 0;
        foreach (var (_, i) in candidates.Take(wanted))
        {
            var (shape, sound) = (_sameShape[ids[i]], _samePronunciation[ids[i]]);
            var pool = shape.Length == 0 ? sound : sound.Length == 0 ? shape : (CounterRandom.Hash(stream, (ulong)i, 2, 0) & 1) == 0 ? shape : sound;
            var replacement = pool[(int)(CounterRandom.Hash(stream, (ulong)i, 1, 0) % (ulong)pool.Length)];
            (attacked[i], shapes[i], pronunciations[i]) = (replacement, _shapeOf[replacement], _pronunciationOf[replacement]);
            swapped++;
        }
        return swapped;
    }
}
