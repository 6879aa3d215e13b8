namespace Cluster.Model.Tokenization;

/// <summary>
/// RoCBert's tokenizer (HF's RoCBertTokenizer): BERT's BasicTokenizer + WordPiece over vocab.txt, [CLS] A [SEP] B [SEP]
/// with token_type_ids, and for every token a shape id (word_shape.json) and a pronunciation id
/// (word_pronunciation.json); tokens the maps lack, and the [CLS]/[SEP] the template adds, take [UNK]'s ids.
/// </summary>
public sealed class RoCBertTokenizer : Tokenizer
{
    private readonly BasicTokenizer? _basic;
    private readonly WordPieceModel _wordPiece;
    private readonly string[] _idToToken;
    private readonly Dictionary<string, int> _shapes, _pronunciations;
    private readonly int _unkShape, _unkPronunciation;
    /// <summary>Every vocabulary id's shape and pronunciation ids, so WordPiece output needs no string lookups.</summary>
    private readonly int[] _shapeById, _pronunciationById;

    internal RoCBertTokenizer(Dictionary<string, int> vocab, Dictionary<string, int> shapes, Dictionary<string, int> pronunciations,
                              IReadOnlyList<AddedToken> added, RoCBertTokenizerSettings settings, string source) : base(added)
    {
        Settings = settings;
        int unkId = vocab.TryGetValue(settings.UnkToken, out int u) ? u
            : added.FirstOrDefault(t => t.Content == settings.UnkToken)?.Id
              ?? throw new TokenizerException($"{source}: vocab.txt has no {settings.UnkToken}, the token unknown words become");
        _wordPiece = new WordPieceModel(vocab, settings.UnkToken, unkId: unkId);
        _shapes = shapes;
        _pronunciations = pronunciations;
        _unkShape = shapes.TryGetValue(settings.UnkToken, out int s) ? s
            : throw new TokenizerException($"{source}: word_shape.json has no entry for {settings.UnkToken}, which RoCBert uses for special and unknown tokens");
        _unkPronunciation = pronunciations.TryGetValue(settings.UnkToken, out int p) ? p
            : throw new TokenizerException($"{source}: word_pronunciation.json has no entry for {settings.UnkToken}, which RoCBert uses for special and unknown tokens");
        if (settings.DoBasicTokenize)
            _basic = new BasicTokenizer(settings.DoLowerCase, settings.StripAccents, settings.TokenizeChineseChars, settings.NeverSplit.ToHashSet());
        _idToToken = TokenizerFiles.IdToTokenTable(vocab, added);
        (_shapeById, _pronunciationById) = (new int[_idToToken.Length], new int[_idToToken.Length]);
        foreach (var (token, id) in vocab) (_shapeById[id], _pronunciationById[id]) = (ShapeId(token), PronunciationId(token));
        foreach (var t in added) (_shapeById[t.Id], _pronunciationById[t.Id]) = (ShapeId(t.Content), PronunciationId(t.Content));
        int Id(string content) => added.FirstOrDefault(t => t.Content == content)?.Id ?? vocab[content];
        PadTokenId = Id(settings.PadToken);
        Template = new Template([Id(settings.ClsToken)], [Id(settings.SepToken)], [Id(settings.SepToken)], SecondSequenceTypeIdIsOne: true);
    }

    public override string MaskToken => Settings.MaskToken;
    public override string UnkToken => Settings.UnkToken;
    public RoCBertTokenizerSettings Settings { get; }
    public override string ModelType => "roc_bert";
    public override int VocabSize => _idToToken.Length;
    public override int PadTokenId { get; }
    public override bool ReturnsTokenTypeIds => true;
    internal override Template Template { get; }
    internal override bool HasShapeAndPronunciation => true;
    internal override (int Shape, int Pronunciation) TemplateTokenFeatures => (_unkShape, _unkPronunciation);

    public override int? TokenToId(string token) => _wordPiece.Vocab.TryGetValue(token, out int id) ? id
        : AddedTokens.FirstOrDefault(t => t.Content == token)?.Id;
    public override string? IdToToken(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    public int ShapeId(string token) => _shapes.TryGetValue(token, out int id) ? id : _unkShape;
    public int PronunciationId(string token) => _pronunciations.TryGetValue(token, out int id) ? id : _unkPronunciation;

    internal override TokenSpan AddedTokenSpan(AddedToken token, int start, int end, int word) => new()
    {
        Id = token.Id, Start = start, End = end, Word = word, Shape = ShapeId(token.Content), Pronunciation = PronunciationId(token.Content),
    };

    [ThreadStatic] private static List<(int Id, int First, int End)>? t_pieces;
    [ThreadStatic] private static WordList? t_words;

    internal override void TokenizeText(string text, int start, int end, ref int word, List<TokenSpan> output)
    {
        var pieces = t_pieces ??= [];
        var words = t_words ??= new WordList();
        words.Clear();
        if (_basic is not null) _basic.Tokenize(text, start, end, words);
        else SplitOnWhitespace(text, start, end, words);
        for (int w = 0; w < words.Count; w++)
        {
            var chars = words[w];
            pieces.Clear();
            _wordPiece.Tokenize(chars, pieces);
            foreach (var (id, first, last) in pieces)
            {
                output.Add(new TokenSpan
                {
                    Id = id, Start = chars[first].Start, End = chars[last - 1].End, Word = word,
                    Shape = _shapeById[id], Pronunciation = _pronunciationById[id],
                });
            }
            word++;
        }
        if (words.Chars.Capacity > 1 << 16) t_words = null;   // not kept for the thread's life after one huge text
    }

    /// <summary>do_basic_tokenize=false: whitespace split only.</summary>
    private static void SplitOnWhitespace(string text, int start, int end, WordList words)
    {
        var chars = words.Chars;
        int word = chars.Count;
        for (int i = start; i < end;)
        {
            System.Text.Rune.DecodeFromUtf16(text.AsSpan(i, end - i), out var rune, out int used);
            if (System.Text.Rune.IsWhiteSpace(rune))
            {
                if (chars.Count > word) words.AddRange(word, chars.Count - word);
                word = chars.Count;
            }
            else chars.Add(new SourcedChar(rune.Value, i, i + used));
            i += used;
        }
        if (chars.Count > word) words.AddRange(word, chars.Count - word);
    }

    protected override string JoinTokens(IReadOnlyList<string> tokens) => WordPieceModel.Join(tokens);
}

/// <summary>RoCBert tokenizer settings under tokenizer_config.json's names.</summary>
public sealed record RoCBertTokenizerSettings
{
    public bool DoLowerCase { get; init; } = true;
    public bool DoBasicTokenize { get; init; } = true;
    public IReadOnlyList<string> NeverSplit { get; init; } = [];
    public bool TokenizeChineseChars { get; init; } = true;
    /// <summary>null: follow <see cref="DoLowerCase"/>, as BERT does.</summary>
    public bool? StripAccents { get; init; }
    public string UnkToken { get; init; } = "[UNK]";
    public string SepToken { get; init; } = "[SEP]";
    public string PadToken { get; init; } = "[PAD]";
    public string ClsToken { get; init; } = "[CLS]";
    public string MaskToken { get; init; } = "[MASK]";
    public int? ModelMaxLength { get; init; }
}
