using System.Text;

namespace Cluster.Model.Tokenization;

/// <summary>
/// What both families share: added-token splitting, truncation with overflowing windows, the special-token
/// template, padding, batching across cores and decoding. A subclass turns ordinary text into tokens.
/// </summary>
public abstract class Tokenizer
{
    private readonly AddedTokenMatcher _matcher;
    private readonly HashSet<int> _specialIds;

    private protected Tokenizer(IReadOnlyList<AddedToken> addedTokens)
    {
        AddedTokens = addedTokens;
        _matcher = new AddedTokenMatcher(addedTokens);
        _specialIds = addedTokens.Where(t => t.Special).Select(t => t.Id).ToHashSet();
    }

    /// <summary>"roberta" or "roc_bert": the model_type whose files this tokenizer reads.</summary>
    public abstract string ModelType { get; }
    public abstract int VocabSize { get; }
    public abstract int PadTokenId { get; }
    /// <summary>Whether the model takes token_type_ids (RoBERTa does not).</summary>
    public abstract bool ReturnsTokenTypeIds { get; }
    public IReadOnlyList<AddedToken> AddedTokens { get; }

    public abstract int? TokenToId(string token);
    public abstract string? IdToToken(int id);
    public bool IsSpecial(int id) => _specialIds.Contains(id);
    public int NumSpecialTokensToAdd(bool pair) => Template.Count(pair);

    internal abstract Template Template { get; }

    /// <summary>
    /// Appends the tokens of text[start, end), which holds no added token, with UTF-16 offsets into text.
    /// <paramref name="word"/> counts words across the whole sequence.
    /// </summary>
    internal abstract void TokenizeText(string text, int start, int end, ref int word, List<TokenSpan> output);

    /// <summary>An added token found in the text; RoCBert gives it its shape and pronunciation ids.</summary>
    internal virtual TokenSpan AddedTokenSpan(AddedToken token, int start, int end, int word) =>
        new() { Id = token.Id, Start = start, End = end, Word = word };

    /// <summary>The shape and pronunciation ids of a special token the template inserts.</summary>
    internal virtual (int Shape, int Pronunciation) TemplateTokenFeatures => (0, 0);
    internal virtual bool HasShapeAndPronunciation => false;
    /// <summary>HF's RoBERTa refuses pre-split words unless add_prefix_space is set.</summary>
    internal virtual void CheckPretokenizedAllowed() { }

    /// <summary>Joins token strings back into text (before clean-up).</summary>
    protected abstract string JoinTokens(IReadOnlyList<string> tokens);

    /// <summary>HF's convert_tokens_to_string: tokens (as <see cref="IdToToken"/> gives them) back to text.</summary>
    public string ConvertTokensToString(IReadOnlyList<string> tokens) => JoinTokens(tokens);

    /// <summary>The mask token fill-mask predicts (<c>&lt;mask&gt;</c>, <c>[MASK]</c>).</summary>
    public abstract string MaskToken { get; }

    /// <summary>The token unknown text becomes.</summary>
    public abstract string UnkToken { get; }

    public TokenEncoding Encode(string text, string? pair = null, EncodeOptions? options = null)
    {
        options ??= EncodeOptions.Default;
        options.Validate();
        var (first, second) = TokenizeSequences([text], pair is null ? null : [pair], pretokenized: false);
        return PadGroup(Assemble(first, second, options), options);
    }

    /// <summary>Words already split by the caller (is_split_into_words): each word's tokens carry its index as word id.</summary>
    public TokenEncoding EncodeWords(IReadOnlyList<string> words, IReadOnlyList<string>? pairWords = null, EncodeOptions? options = null)
    {
        options ??= EncodeOptions.Default;
        options.Validate();
        CheckPretokenizedAllowed();
        var (first, second) = TokenizeSequences(words, pairWords, pretokenized: true);
        return PadGroup(Assemble(first, second, options), options);
    }

    public BatchEncoding EncodeBatch(IReadOnlyList<string> texts, EncodeOptions? options = null, int maxDegreeOfParallelism = -1) =>
        EncodeBatch(texts.Count, i => (texts[i], null), options, maxDegreeOfParallelism);

    public BatchEncoding EncodeBatch(IReadOnlyList<(string First, string Second)> pairs, EncodeOptions? options = null, int maxDegreeOfParallelism = -1) =>
        EncodeBatch(pairs.Count, i => (pairs[i].First, pairs[i].Second), options, maxDegreeOfParallelism);

    private BatchEncoding EncodeBatch(int count, Func<int, (string, string?)> input, EncodeOptions? options, int maxDegreeOfParallelism)
    {
        options ??= EncodeOptions.Default;
        options.Validate();
        var groups = new TokenEncoding[count];
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, i =>
        {
            var (a, b) = input(i);
            var (first, second) = TokenizeSequences([a], b is null ? null : [b], pretokenized: false);
            groups[i] = Assemble(first, second, options);
        });
        var rows = new List<TokenEncoding>();
        var mapping = new List<int>();
        for (int i = 0; i < count; i++)
        {
            rows.Add(groups[i]);
            mapping.Add(i);
            foreach (var o in groups[i].Overflowing) { rows.Add(o); mapping.Add(i); }
        }
        int? target = PadTarget(rows, options);
        var padded = target is { } t ? rows.Select(r => Padding.Pad(r, t, options.PaddingSide, PadTokenId, withOverflow: false)).ToList() : rows;
        return new BatchEncoding(padded, mapping.ToArray());
    }

    /// <summary>
    /// Only the ids of each text (with RoCBert's shape and pronunciation ids): what corpus preparation stores. The
    /// same ids as <see cref="EncodeBatch(IReadOnlyList{string}, EncodeOptions?, int)"/> without truncation or padding,
    /// at a fraction of the cost, since no offsets, masks or word ids are built.
    /// </summary>
    public TokenIds[] EncodeIdsBatch(IReadOnlyList<string> texts, bool addSpecialTokens = true, int maxDegreeOfParallelism = -1)
    {
        var rows = new TokenIds[texts.Count];
        Parallel.For(0, texts.Count, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, i =>
        {
            var scratch = Scratch.ForThisThread();
            var tokens = TokenizeSequence([texts[i]], pretokenized: false, scratch.First, scratch.Segments, offsets: false);
            rows[i] = IdsOf(tokens, addSpecialTokens);
        });
        return rows;
    }

    private TokenIds IdsOf(List<TokenSpan> tokens, bool addSpecialTokens)
    {
        var (prefix, suffix) = addSpecialTokens ? (Template.Prefix, Template.Suffix) : ([], []);
        int n = prefix.Length + tokens.Count + suffix.Length;
        var ids = new int[n];
        var (shapes, pronunciations) = HasShapeAndPronunciation ? (new int[n], new int[n]) : (null, null);
        var (shape, pronunciation) = TemplateTokenFeatures;
        int at = 0;
        void Special(int id)
        {
            ids[at] = id;
            if (shapes is not null) (shapes[at], pronunciations![at]) = (shape, pronunciation);
            at++;
        }
        foreach (int id in prefix) Special(id);
        foreach (var t in tokens)
        {
            ids[at] = t.Id;
            if (shapes is not null) (shapes[at], pronunciations![at]) = (t.Shape, t.Pronunciation);
            at++;
        }
        foreach (int id in suffix) Special(id);
        return new TokenIds(ids, shapes, pronunciations);
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false, bool cleanUpTokenizationSpaces = true)
    {
        var tokens = new List<string>();
        foreach (int id in ids)
        {
            if (skipSpecialTokens && IsSpecial(id)) continue;
            tokens.Add(IdToToken(id) ?? throw new TokenizerException($"id {id} is not in the vocabulary (size {VocabSize})"));
        }
        string text = JoinTokens(tokens);
        return cleanUpTokenizationSpaces ? CleanUpTokenization(text) : text;
    }

    /// <summary>HF's clean_up_tokenization: glue punctuation and English contractions back to the word before.</summary>
    public static string CleanUpTokenization(string text) => new StringBuilder(text)
        .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
        .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re")
        .ToString();

    /// <summary>
    /// Lists reused by every encode on a thread: a sequence's tokens only live until its rows are built, and
    /// allocating them afresh per text was over a third of the bytes a batch allocated.
    /// </summary>
    private sealed class Scratch
    {
        private const int KeepCapacity = 1 << 16;   // a list grown by one huge text is not kept for the thread's life
        [ThreadStatic] private static Scratch? t_current;

        public readonly List<TokenSpan> First = [], Second = [];
        public readonly List<(int Start, int End, AddedToken? Token)> Segments = [];

        public static Scratch ForThisThread()
        {
            var scratch = t_current ??= new Scratch();
            if (scratch.First.Capacity > KeepCapacity || scratch.Second.Capacity > KeepCapacity || scratch.Segments.Capacity > KeepCapacity)
                t_current = scratch = new Scratch();
            return scratch;
        }
    }

    /// <summary>Tokens of one or two sequences in this thread's scratch lists, valid until its next encode.</summary>
    private (List<TokenSpan> First, List<TokenSpan>? Second) TokenizeSequences(IReadOnlyList<string> first, IReadOnlyList<string>? second,
                                                                             bool pretokenized)
    {
        var scratch = Scratch.ForThisThread();
        return (TokenizeSequence(first, pretokenized, scratch.First, scratch.Segments, offsets: true),
                second is null ? null : TokenizeSequence(second, pretokenized, scratch.Second, scratch.Segments, offsets: true));
    }

    /// <summary>Tokens of one sequence (a text, or pre-split words) into output (cleared first); with
    /// <paramref name="offsets"/>, their offsets converted to code points.</summary>
    private List<TokenSpan> TokenizeSequence(IReadOnlyList<string> pieces, bool pretokenized, List<TokenSpan> output,
                                             List<(int Start, int End, AddedToken? Token)> segments, bool offsets)
    {
        output.Clear();
        int word = 0;
        for (int p = 0; p < pieces.Count; p++)
        {
            string text = pieces[p] ?? throw new TokenizerException("a text to encode is null");
            int from = output.Count;
            _matcher.Split(text, segments);
            foreach (var (start, end, token) in segments)
            {
                if (token is not null) output.Add(AddedTokenSpan(token, start, end, word++));
                else TokenizeText(text, start, end, ref word, output);
            }
            if (pretokenized)
                for (int i = from; i < output.Count; i++) { var s = output[i]; s.Word = p; output[i] = s; }
            if (offsets) CodePointOffsets.Convert(text, output, from);
        }
        return output;
    }

    private TokenEncoding Assemble(List<TokenSpan> first, List<TokenSpan>? second, EncodeOptions options)
    {
        bool pair = second is not null;
        int special = options.AddSpecialTokens ? Template.Count(pair) : 0;
        var (windowsA, windowsB) = options.Truncates
            ? Truncation.Windows(first.Count, second?.Count, options.MaxLength!.Value - special, options.Truncation!.Value, options.Stride)
            : ([(0, first.Count)], second is null ? null : [(0, second.Count)]);
        TokenEncoding? main = null;
        var overflowing = new List<TokenEncoding>();
        foreach (var (wa, wb) in Truncation.Combinations(windowsA, windowsB))
        {
            var row = BuildRow(first, wa, second, wb, options.AddSpecialTokens);
            if (main is null) main = row;
            else if (options.ReturnOverflowingTokens) overflowing.Add(row);
            else break;
        }
        return Padding.WithOverflowing(main!, overflowing);
    }

    private TokenEncoding BuildRow(List<TokenSpan> first, (int Start, int End) wa, List<TokenSpan>? second, (int Start, int End)? wb, bool addSpecial)
    {
        var template = Template;
        int lenA = wa.End - wa.Start, lenB = wb is { } b ? b.End - b.Start : 0;
        int n = lenA + lenB + (addSpecial ? template.Count(second is not null) : 0);
        var row = new RowBuilder(n, HasShapeAndPronunciation);
        var (shape, pron) = TemplateTokenFeatures;
        void Specials(int[] ids, int type) { if (addSpecial) foreach (int id in ids) row.AddSpecial(id, type, shape, pron); }
        void Tokens(List<TokenSpan> seq, (int Start, int End) w, int sequence, int type)
        {
            for (int i = w.Start; i < w.End; i++) row.AddToken(seq[i], sequence, type);
        }
        Specials(template.Prefix, 0);
        Tokens(first, wa, 0, 0);
        if (second is not null)
        {
            int typeB = addSpecial && template.SecondSequenceTypeIdIsOne ? 1 : 0;
            Specials(template.Middle, 0);
            Tokens(second, wb!.Value, 1, typeB);
            Specials(template.Suffix, typeB);
        }
        else Specials(template.Suffix, 0);
        return row.Build();
    }

    private TokenEncoding PadGroup(TokenEncoding main, EncodeOptions options)
    {
        int? target = PadTarget([main, .. main.Overflowing], options);
        return target is { } t ? Padding.Pad(main, t, options.PaddingSide, PadTokenId, withOverflow: true) : main;
    }

    private static int? PadTarget(IReadOnlyList<TokenEncoding> rows, EncodeOptions options)
    {
        int? target = options.Padding switch
        {
            PaddingStrategy.Longest => rows.Count == 0 ? 0 : rows.Max(r => r.Length),
            PaddingStrategy.MaxLength => options.MaxLength,
            _ => null,
        };
        if (target is { } t && options.PadToMultipleOf is { } m && t % m != 0) target = (t / m + 1) * m;
        return target;
    }
}
