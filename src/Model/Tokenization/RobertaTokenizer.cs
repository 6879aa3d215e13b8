using System.Buffers;
using System.Text;

namespace Cluster.Model.Tokenization;

/// <summary>
/// RoBERTa's tokenizer (HF's RobertaTokenizerFast): GPT-2 byte-level BPE, &lt;s&gt; A &lt;/s&gt; and
/// &lt;s&gt; A &lt;/s&gt;&lt;/s&gt; B &lt;/s&gt;, offsets trimmed of the spaces a token carries (trim_offsets).
/// </summary>
public sealed class RobertaTokenizer : Tokenizer
{
    private readonly BytePairModel _model;
    private readonly string[] _idToToken;
    private readonly Dictionary<string, int> _addedByContent;

    internal RobertaTokenizer(BytePairModel model, IReadOnlyList<AddedToken> added, RobertaTokenizerSettings settings) : base(added)
    {
        _model = model;
        Settings = settings;
        _addedByContent = added.ToDictionary(t => t.Content, t => t.Id);
        _idToToken = TokenizerFiles.IdToTokenTable(model.Vocab, added);
        int Id(string content) => _addedByContent.TryGetValue(content, out int id) ? id
            : throw new TokenizerException($"special token '{content}' is neither in the vocabulary nor among the added tokens");
        BosId = Id(settings.BosToken);
        EosId = Id(settings.EosToken);
        PadTokenId = Id(settings.PadToken);
        Template = new Template([BosId], [EosId, EosId], [EosId], SecondSequenceTypeIdIsOne: false);
    }

    public override string MaskToken => Settings.MaskToken;
    public override string UnkToken => Settings.UnkToken;
    public RobertaTokenizerSettings Settings { get; }

    /// <summary>This tokenizer with add_prefix_space on, as <c>from_pretrained(..., add_prefix_space=True)</c> gives
    /// it: what encoding pre-split words needs (run_ner does this for RoBERTa).</summary>
    public RobertaTokenizer WithPrefixSpace() =>
        Settings.AddPrefixSpace ? this : new RobertaTokenizer(_model, AddedTokens, Settings with { AddPrefixSpace = true });
    public int BosId { get; }
    public int EosId { get; }
    public override string ModelType => "roberta";
    public override int VocabSize => _idToToken.Length;
    public override int PadTokenId { get; }
    public override bool ReturnsTokenTypeIds => false;
    internal override Template Template { get; }
    internal int MergeCount => _model.MergeCount;

    public override int? TokenToId(string token) =>
        _addedByContent.TryGetValue(token, out int a) ? a : _model.Vocab.TryGetValue(token, out int id) ? id : null;

    public override string? IdToToken(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    internal override void CheckPretokenizedAllowed()
    {
        if (!Settings.AddPrefixSpace)
            throw new TokenizerException("RoBERTa needs add_prefix_space=true to encode pre-split words (as Hugging Face requires)");
    }

    [ThreadStatic] private static List<(int, int)>? t_pieces;

    private struct PieceSink(List<(int, int)> pieces) : IRangeSink
    {
        public void Add(int start, int end) => pieces.Add((start, end));
    }

    internal override void TokenizeText(string text, int start, int end, ref int word, List<TokenSpan> output)
    {
        // add_prefix_space: each run of plain text gets a space if it lacks one, so a first word is spelled as
        // it is mid-sentence. The added space is zero-width in the offsets.
        string s = text;
        int shift = 0;
        bool prefixed = Settings.AddPrefixSpace && text[start] != ' ';
        if (prefixed) { s = " " + text[start..end]; shift = start - 1; start = 0; end = s.Length; }
        var pieces = t_pieces ??= new List<(int, int)>();
        pieces.Clear();
        var sink = new PieceSink(pieces);
        ByteLevel.PreTokenize(s, start, end, ref sink);
        foreach (var (a, b) in pieces)
        {
            AddPiece(s, a, b, word++, output, prefixed, shift);
        }
    }

    private void AddPiece(string s, int a, int b, int word, List<TokenSpan> output, bool prefixed, int shift)
    {
        var span = s.AsSpan(a, b - a);
        int maxBytes = span.Length * 3;
        byte[]? rented = maxBytes > 512 ? ArrayPool<byte>.Shared.Rent(maxBytes) : null;
        Span<byte> buffer = rented is not null ? rented : stackalloc byte[maxBytes];
        try
        {
            // Invalid UTF-16 (a lone surrogate) becomes U+FFFD, as Python would have had to replace it too.
            var utf8 = buffer[..Encoding.UTF8.GetBytes(span, buffer)];
            var tokens = _model.Encode(span, utf8);
            var chars = new Utf8CharWalker(span, ascii: utf8.Length == span.Length);
            int p = 0;
            for (int t = 0; t < tokens.Length; t += 2)
            {
                int len = tokens[t + 1];
                int first = chars.CharStartOfByte(p), last = chars.CharEndOfByte(p + len - 1);
                int leading = 0, trailing = 0;
                if (Settings.TrimOffsets)
                {
                    while (leading < len && utf8[p + leading] == (byte)' ') leading++;
                    while (trailing < len && utf8[p + len - 1 - trailing] == (byte)' ') trailing++;
                }
                int start = Map(a + first), end = Map(a + last);
                if (leading > 0)
                {
                    bool isFirst = output.Count == 0 || start == 0;
                    if (!(isFirst && Settings.AddPrefixSpace && leading == 1)) start = Math.Min(start + leading, end);
                }
                if (trailing > 0 && end >= trailing) end = Math.Max(end - trailing, start);
                output.Add(new TokenSpan { Id = tokens[t], Start = start, End = end, Word = word });
                p += len;
            }
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }

        int Map(int index) => !prefixed ? index : index == 0 ? shift + 1 : shift + index;
    }

    /// <summary>
    /// Maps byte positions of a piece's UTF-8 to its UTF-16 positions, for positions asked in increasing order
    /// (tokens come left to right), so it needs no per-byte table.
    /// </summary>
    private ref struct Utf8CharWalker
    {
        private readonly ReadOnlySpan<char> _chars;
        private readonly bool _ascii;
        private int _char, _byte, _charUnits, _charBytes;   // the current character: where it starts, and its size

        public Utf8CharWalker(ReadOnlySpan<char> chars, bool ascii)
        {
            _chars = chars;
            _ascii = ascii;
            _charBytes = Measure(chars, 0, out _charUnits);
        }

        /// <summary>UTF-16 index of the character that byte belongs to.</summary>
        public int CharStartOfByte(int bytePosition)
        {
            if (_ascii) return bytePosition;
            while (_byte + _charBytes <= bytePosition)
            {
                _byte += _charBytes;
                _char += _charUnits;
                _charBytes = Measure(_chars, _char, out _charUnits);
            }
            return _char;
        }

        /// <summary>UTF-16 index just past the character that byte belongs to.</summary>
        public int CharEndOfByte(int bytePosition) => _ascii ? bytePosition + 1 : CharStartOfByte(bytePosition) + _charUnits;

        private static int Measure(ReadOnlySpan<char> chars, int at, out int units)
        {
            if (at >= chars.Length) { units = 1; return 1; }
            Rune.DecodeFromUtf16(chars[at..], out var rune, out units);
            return rune.Utf8SequenceLength;
        }
    }

    /// <summary>HF's ByteLevel decoder: table characters back to bytes, then UTF-8 with U+FFFD for invalid bytes.</summary>
    protected override string JoinTokens(IReadOnlyList<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            if (token.All(ByteLevel.CharToByte.ContainsKey)) foreach (char c in token) bytes.Add(ByteLevel.CharToByte[c]);
            else bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(token));
        }
        return System.Text.Encoding.UTF8.GetString(bytes.ToArray());
    }
}

/// <summary>RoBERTa tokenizer settings under tokenizer_config.json's names.</summary>
public sealed record RobertaTokenizerSettings
{
    public bool AddPrefixSpace { get; init; }
    public bool TrimOffsets { get; init; } = true;
    public string BosToken { get; init; } = "<s>";
    public string EosToken { get; init; } = "</s>";
    public string UnkToken { get; init; } = "<unk>";
    public string PadToken { get; init; } = "<pad>";
    public string MaskToken { get; init; } = "<mask>";
    public int? ModelMaxLength { get; init; }
}
