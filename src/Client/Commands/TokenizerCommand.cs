using System.CommandLine;
using Cluster.Model.Tokenization;
using Cluster.Model.Tokenization.Training;

namespace Cluster.Client.Commands;

/// <summary>`cluster tokenizer train` and `cluster tokenizer rocbert-maps`: build tokenizer files for pretraining from scratch.</summary>
internal static class TokenizerCommand
{
    public static Command Create() => new("tokenizer", "Build tokenizer files from a corpus") { Train(), RoCBertMaps() };

    private static Command Train()
    {
        var kind = new Option<string>("--kind") { Description = "bpe (RoBERTa: vocab.json + merges.txt) or wordpiece (RoCBert/BERT: vocab.txt)", Required = true };
        kind.AcceptOnlyFromAmong("bpe", "wordpiece");
        var corpus = new Option<FileInfo[]>("--corpus") { Description = "UTF-8 text files, one or more", Required = true, AllowMultipleArgumentsPerToken = true };
        var vocabSize = new Option<int>("--vocab-size") { Description = "size of the vocabulary, special tokens included", Required = true };
        var minFrequency = new Option<long>("--min-frequency") { Description = "a pair is merged only if it occurs this often", DefaultValueFactory = _ => 2 };
        var special = new Option<string[]>("--special-tokens") { Description = "special tokens, first in the vocabulary (default: RoBERTa's or BERT's five)", AllowMultipleArgumentsPerToken = true };
        var cased = new Option<bool>("--cased") { Description = "wordpiece: keep case and accents (default lower-cases, as BERT uncased)" };
        var output = new Option<DirectoryInfo>("--out") { Description = "directory to write the files into", Required = true };
        var command = new Command("train", "Train a tokenizer vocabulary on a corpus") { kind, corpus, vocabSize, minFrequency, special, cased, output };
        command.SetAction(parsed =>
        {
            var files = parsed.GetValue(corpus)!;
            foreach (var f in files) if (!f.Exists) throw new IOException($"--corpus: no file {f.FullName}");
            var lines = files.SelectMany(f => File.ReadLines(f.FullName));
            var specials = parsed.GetValue(special) is { Length: > 0 } s ? s : null;
            string dir = parsed.GetValue(output)!.FullName;
            if (parsed.GetValue(kind) == "bpe")
            {
                var result = BpeTrainer.Train(lines, parsed.GetValue(vocabSize), parsed.GetValue(minFrequency), specials);
                RobertaTokenizerFiles.Save(result.Vocab, result.Merges, dir);
                Console.WriteLine($"wrote {dir}/vocab.json ({result.Vocab.Count} tokens) and merges.txt ({result.Merges.Count} merges)");
            }
            else
            {
                var vocab = WordPieceTrainer.Train(lines, parsed.GetValue(vocabSize), parsed.GetValue(minFrequency), specials, lowerCase: !parsed.GetValue(cased));
                RoCBertTokenizerFiles.SaveVocab(vocab, dir);
                Console.WriteLine($"wrote {dir}/vocab.txt ({vocab.Count} tokens)");
            }
            return 0;
        });
        return command;
    }

    private static Command RoCBertMaps()
    {
        var vocab = new Option<FileInfo>("--vocab") { Description = "the WordPiece vocab.txt", Required = true };
        var hanzi = new Option<DirectoryInfo>("--hanzi-dir") { Description = "npm hanzi-writer-data's directory (one 字.json per character)", Required = true };
        var pinyin = new Option<FileInfo>("--pinyin") { Description = "a character<TAB>pinyin table (scripts/rocbert_maps.sh exports one from npm pinyin-pro)", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "directory for word_shape.json and word_pronunciation.json", Required = true };
        var command = new Command("rocbert-maps", "Build RoCBert's word_shape.json and word_pronunciation.json for a vocabulary") { vocab, hanzi, pinyin, output };
        command.SetAction(parsed =>
        {
            var vocabFile = parsed.GetValue(vocab)!;
            if (!vocabFile.Exists) throw new IOException($"--vocab: no file {vocabFile.FullName}");
            var tokens = File.ReadAllLines(vocabFile.FullName);
            var maps = RoCBertMapsBuilder.Build(tokens, RoCBertMapsBuilder.ReadHanziWriterData(parsed.GetValue(hanzi)!.FullName),
                                                RoCBertMapsBuilder.ReadPinyinTable(parsed.GetValue(pinyin)!.FullName));
            string dir = parsed.GetValue(output)!.FullName;
            Directory.CreateDirectory(dir);
            RoCBertTokenizerFiles.SaveMap(maps.Shapes, Path.Combine(dir, "word_shape.json"));
            RoCBertTokenizerFiles.SaveMap(maps.Pronunciations, Path.Combine(dir, "word_pronunciation.json"));
            Console.WriteLine($"shapes: {maps.CharactersWithShape} characters with stroke data, {maps.ShapeVocabSize} ids (shape_vocab_size)");
            Console.WriteLine($"pronunciations: {maps.CharactersWithPronunciation} characters with pinyin, {maps.PronunciationVocabSize} ids (pronunciation_vocab_size)");
            return 0;
        });
        return command;
    }
}
