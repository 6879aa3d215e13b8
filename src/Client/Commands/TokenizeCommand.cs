using System.CommandLine;
using System.Text;
using System.Text.Json;
using Cluster.Model.Tokenization;

namespace Cluster.Client.Commands;

/// <summary>
/// `cluster tokenize`: UTF-8 lines from stdin (with --pair, "first TAB second") to one JSON object per line:
/// input_ids, attention_mask, offsets, and for RoCBert token_type_ids, input_shape_ids, input_pronunciation_ids.
/// </summary>
internal static class TokenizeCommand
{
    private const int LinesPerBatch = 4096;

    /// <summary>The longest line taken, in UTF-16 units. A line is one JSON row; up to this size a row of either tokenizer
    /// stays within a few hundred megabytes (a 1M-character line of CJK peaked at 0.3 GB), and a longer one is refused
    /// before it is tokenized.</summary>
    public const int MaxLineChars = 1 << 20;

    private const long BatchChars = MaxLineChars;

    public static Command Create()
    {
        var modelDir = new Option<DirectoryInfo>("--model-dir") { Description = "a model directory; config.json's model_type picks the tokenizer", Required = true };
        var noSpecial = new Option<bool>("--no-special-tokens") { Description = "do not add <s>/</s> or [CLS]/[SEP]" };
        var pair = new Option<bool>("--pair") { Description = "each line holds two texts separated by a tab" };
        var maxLength = new Option<int?>("--max-length") { Description = "truncate to this many tokens, special tokens included (longest first)" };
        var command = new Command("tokenize", "Tokenize lines from stdin with a model directory's tokenizer; one JSON object per line on stdout " +
                                                 $"(lines of at most {MaxLineChars} characters)")
        {
            modelDir, noSpecial, pair, maxLength,
        };
        command.SetAction(parsed => Run(parsed.GetValue(modelDir)!, !parsed.GetValue(noSpecial), parsed.GetValue(pair), parsed.GetValue(maxLength)));
        return command;
    }

    private static int Run(DirectoryInfo dir, bool addSpecial, bool pair, int? maxLength)
    {
        if (maxLength is <= 0) throw new ArgumentException($"--max-length must be positive, got {maxLength}");
        var tokenizer = AutoTokenizer.FromPretrained(dir.FullName);
        var options = new EncodeOptions { AddSpecialTokens = addSpecial, MaxLength = maxLength };
        // Invalid UTF-8 becomes U+FFFD rather than an error: a tokenizer must take whatever text it is given.
        using var input = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false, throwOnInvalidBytes: false));
        using var stdout = new BufferedStream(Console.OpenStandardOutput(), 1 << 16);
        using var json = new Utf8JsonWriter(stdout, new JsonWriterOptions { SkipValidation = true });
        var lines = new List<string>(LinesPerBatch);
        int lineNumber = 0;
        while (true)
        {
            lines.Clear();
            string? line;
            long chars = 0;
            // A batch is bounded by lines and by characters, so a file of long documents is not held 4096 at a time.
            while (lines.Count < LinesPerBatch && chars < BatchChars && (line = input.ReadLine()) is not null)
            {
                if (line.Length > MaxLineChars)
                    throw new ArgumentException($"stdin line {lineNumber + lines.Count + 1} has {line.Length} characters, more than the " +
                                                $"{MaxLineChars} a line may have; split it first");
                lines.Add(line);
                chars += line.Length;
            }
            if (lines.Count == 0) break;
            BatchEncoding batch;
            if (pair)
            {
                var pairs = new (string, string)[lines.Count];
                for (int i = 0; i < lines.Count; i++)
                {
                    int tab = lines[i].IndexOf('\t');
                    if (tab < 0) throw new ArgumentException($"stdin line {lineNumber + i + 1}: --pair needs two texts separated by a tab");
                    pairs[i] = (lines[i][..tab], lines[i][(tab + 1)..]);
                }
                batch = tokenizer.EncodeBatch(pairs, options);
            }
            else batch = tokenizer.EncodeBatch(lines, options);
            foreach (var row in batch.Rows) Write(json, stdout, row, tokenizer.ReturnsTokenTypeIds);
            stdout.Flush();
            lineNumber += lines.Count;
        }
        return 0;
    }

    private static void Write(Utf8JsonWriter json, Stream stdout, TokenEncoding e, bool tokenTypes)
    {
        json.WriteStartObject();
        Array(json, "input_ids", e.InputIds);
        if (tokenTypes) Array(json, "token_type_ids", e.TokenTypeIds);
        Array(json, "attention_mask", e.AttentionMask);
        json.WriteStartArray("offsets");
        foreach (var (start, end) in e.Offsets)
        {
            json.WriteStartArray();
            json.WriteNumberValue(start);
            json.WriteNumberValue(end);
            json.WriteEndArray();
            FlushLarge(json);
        }
        json.WriteEndArray();
        if (e.InputShapeIds is { } shapes) Array(json, "input_shape_ids", shapes);
        if (e.InputPronunciationIds is { } sounds) Array(json, "input_pronunciation_ids", sounds);
        json.WriteEndObject();
        json.Flush();
        stdout.Write("\n"u8);
        json.Reset();
    }

    private static void Array(Utf8JsonWriter json, string name, int[] values)
    {
        json.WriteStartArray(name);
        foreach (int v in values)
        {
            json.WriteNumberValue(v);
            FlushLarge(json);
        }
        json.WriteEndArray();
    }

    /// <summary>A row of a long text is megabytes of JSON; the writer would otherwise buffer all of it.</summary>
    private static void FlushLarge(Utf8JsonWriter json)
    {
        if (json.BytesPending > 1 << 16) json.Flush();
    }
}
