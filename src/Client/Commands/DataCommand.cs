using System.CommandLine;
using Cluster.Model.Tokenization;
using Cluster.Training.Data;

namespace Cluster.Client.Commands;

/// <summary>`cluster data prepare`: tokenize corpora once into token shards.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var tokenizer = new Option<DirectoryInfo>("--tokenizer") { Description = "tokenizer directory (vocab.json + merges.txt, or vocab.txt for RoCBert)", Required = true };
        var arch = new Option<string>("--arch") { Description = "roberta or roc_bert (read from the tokenizer directory's config.json when there is one)" };
        arch.AcceptOnlyFromAmong("roberta", "roc_bert");
        var corpus = new Option<FileInfo[]>("--corpus") { Description = "text files, one document per line", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "directory for the shards and manifest.json", Required = true };
        var prepare = new Command("prepare", "Tokenize text corpora, on all cores, into memory-mapped token shards") { tokenizer, arch, corpus, output };
        prepare.SetAction(parsed =>
        {
            var dir = parsed.GetValue(tokenizer)!.FullName;
            var loaded = LoadTokenizer(dir, parsed.GetValue(arch));
            var files = parsed.GetValue(corpus)!.Select(f => f.FullName).ToArray();
            var manifest = CorpusPreparation.Prepare(loaded, dir, files, parsed.GetValue(output)!.FullName, new ConsoleProgress("tokenizing"));
            Console.Error.WriteLine();
            Console.WriteLine($"prepared {manifest.Documents:N0} documents, {manifest.Tokens:N0} tokens in {manifest.Shards.Length} shard(s) at {parsed.GetValue(output)!.FullName}");
            return 0;
        });
        return new Command("data", "Prepare training data") { prepare };
    }

    /// <summary>The tokenizer of <paramref name="arch"/>, or of the directory's config.json.</summary>
    public static Tokenizer LoadTokenizer(string dir, string? arch)
    {
        if (!Directory.Exists(dir)) throw new IOException($"--tokenizer: no directory {dir}");
        return arch switch
        {
            "roberta" => RobertaTokenizerFiles.Load(dir),
            "roc_bert" => RoCBertTokenizerFiles.Load(dir),
            _ => AutoTokenizer.FromPretrained(dir),
        };
    }

    /// <summary>One line, rewritten in place, on standard error.</summary>
    internal sealed class ConsoleProgress(string what) : IProgress<PreparationProgress>
    {
        readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

        public void Report(PreparationProgress p)
        {
            var mb = p.BytesRead / 1e6;
            Console.Error.Write($"\r{what}: {100.0 * p.BytesRead / Math.Max(1, p.TotalBytes):F0}% ({mb:F1} MB, {p.Documents:N0} documents, {p.Tokens:N0} tokens, {mb / Math.Max(1e-3, _clock.Elapsed.TotalSeconds):F1} MB/s)   ");
        }
    }
}
