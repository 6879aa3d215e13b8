using System.Diagnostics;
using System.Text.Json.Nodes;
using Cluster.Model.Tokenization;

namespace Cluster.Bench;

/// <summary>
/// GPT-2 byte-level BPE throughput (MB/s, tokens/s) on one thread and on all cores, against npm's gpt-3-encoder on the
/// same text and vocabulary, measured in the same run (best of N after a warm-up pass on both sides, whose word caches
/// are then full; and that first pass itself, with empty caches). Then the time of one long line at 1 MB and 10 MB, to
/// show cost linear in length.
/// </summary>
internal static class TokenizerThroughputBench
{
    public static int Run(BenchOptions options)
    {
        string modelDir = options.Get("model-dir", "artifacts/gpt2");
        string textPath = options.Get("text", "artifacts/bench/text.txt");
        string modules = options.Get("node-modules", "artifacts/npm/node_modules");
        int repeats = options.Repeats;
        int threads = Environment.ProcessorCount;

        var encode = new EncodeOptions { AddSpecialTokens = false };
        // The same text without its lines that hold stress words (over 64 characters, up to thousands): closer to a corpus.
        string plainPath = Path.ChangeExtension(textPath, ".plain.txt");
        File.WriteAllLines(plainPath, File.ReadAllLines(textPath).Where(l => !l.Split(' ', '\t').Any(w => w.Length > 64)));
        foreach (var (path, label) in new[] { (textPath, "varied text with long stress words"), (plainPath, "the same without lines holding words over 64 characters") })
            Throughput(modelDir, encode, options, path, label, modules, threads, repeats);
        LongLines(AutoTokenizer.FromPretrained(modelDir), encode, File.ReadAllLines(textPath));
        Console.WriteLine();
        WordPieceThroughputBench.Run(options, textPath);
        return 0;
    }

    private static void Throughput(string modelDir, EncodeOptions encode, BenchOptions options, string textPath, string label,
                                   string modules, int threads, int repeats)
    {
        var lines = File.ReadAllLines(textPath);
        long bytes = new FileInfo(textPath).Length;
        var tokenizer = AutoTokenizer.FromPretrained(modelDir);   // a fresh one: its word cache starts empty
        var cold = Stopwatch.StartNew();
        Count(tokenizer.EncodeBatch(lines, encode, 1));
        double coldSeconds = cold.Elapsed.TotalSeconds;

        var reference = RunReference(Path.Combine(options.ScriptDir, "gpt2_encoder_reference.js"), modules, textPath, threads, repeats);
        (double Seconds, long Tokens) Measure(int degree)
        {
            long tokens = Count(tokenizer.EncodeBatch(lines, encode, degree));
            double best = double.MaxValue;
            for (int r = 0; r < repeats; r++)
            {
                var sw = Stopwatch.StartNew();
                tokens = Count(tokenizer.EncodeBatch(lines, encode, degree));
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            return (best, tokens);
        }
        var one = Measure(1);
        var all = Measure(threads);
        if (one.Tokens != reference["tokens"]!.GetValue<long>())
            Console.WriteLine($"warning: token counts differ (ours {one.Tokens}, gpt-3-encoder {reference["tokens"]})");

        double mb = bytes / 1e6;
        double jsOne = reference["seconds_one"]!.GetValue<double>(), jsAll = reference["seconds_all"]!.GetValue<double>();
        double jsCold = reference["seconds_cold"]!.GetValue<double>();
        Console.WriteLine($"GPT-2 byte-level BPE, {mb:F2} MB, {label} ({lines.Length} lines, {one.Tokens} tokens), best of {repeats}");
        Console.WriteLine();
        Console.WriteLine("| encoder | pass | threads | MB/s | tokens/s | vs gpt-3-encoder |");
        Console.WriteLine("|---|---|---|---|---|---|");
        Row("Cluster (C#)", "first, empty cache", 1, coldSeconds, jsCold);
        Row("gpt-3-encoder (JS)", "first, empty cache", 1, jsCold, jsCold);
        Row("Cluster (C#)", "warm", 1, one.Seconds, jsOne);
        Row("gpt-3-encoder (JS)", "warm", 1, jsOne, jsOne);
        Row("Cluster (C#)", "warm", threads, all.Seconds, jsAll);
        Row($"gpt-3-encoder (JS, {threads} workers)", "warm", threads, jsAll, jsAll);
        Console.WriteLine();

        void Row(string name, string pass, int t, double seconds, double referenceSeconds) =>
            Console.WriteLine($"| {name} | {pass} | {t} | {mb / seconds:F2} | {one.Tokens / seconds / 1e6:F2} M | {referenceSeconds / seconds:F1}x |");
    }

    private static void LongLines(Tokenizer tokenizer, EncodeOptions encode, string[] lines)
    {
        Console.WriteLine("| one line of | seconds | MB/s |");
        Console.WriteLine("|---|---|---|");
        var sample = string.Join(" ", lines.Take(2000));
        foreach (int megabytes in new[] { 1, 10 })
        {
            var line = string.Concat(Enumerable.Repeat(sample, megabytes * 1_000_000 / sample.Length + 1))[..(megabytes * 1_000_000)];
            var sw = Stopwatch.StartNew();
            tokenizer.Encode(line, options: encode);
            double s = sw.Elapsed.TotalSeconds;
            Console.WriteLine($"| {megabytes} MB | {s:F2} | {megabytes / s:F1} |");
        }
    }

    private static long Count(BatchEncoding batch) => batch.Rows.Sum(r => (long)r.Length);

    private static JsonNode RunReference(string script, string modules, string textPath, int threads, int repeats)
    {
        var psi = new ProcessStartInfo("node", [script, Path.GetFullPath(modules), Path.GetFullPath(textPath), threads.ToString(), repeats.ToString()])
        {
            RedirectStandardOutput = true,
        };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start node");
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"gpt-3-encoder reference failed (exit {p.ExitCode})");
        return JsonNode.Parse(output)!;
    }
}
