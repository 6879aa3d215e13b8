using Cluster.Model.Configuration;
using Cluster.Training.Checkpoints;
using Cluster.Training.Data;

namespace Cluster.Training;

/// <summary>A pretraining job's inputs, checked before any worker starts: each problem is one line naming the file or
/// setting, and nothing is written.</summary>
public static class PretrainingInputs
{
    /// <summary>Throws <see cref="ArgumentException"/> (settings), <see cref="CorpusException"/> (data) or
    /// ConfigException (the config) on the first problem; returns the checkpoint to resume from, if resuming.
    /// <paramref name="ignore"/> is an entry of the output directory that does not make it "not empty" (the corpus
    /// prepared there a moment ago).</summary>
    public static string? Check(PretrainedConfig config, string tokenizerDirectory, string dataDirectory, string outputDirectory,
        bool resume, int maxLength, int workers, int batchSize, int accumulation, OptimizerSettings optimizer, ExampleMode mode = ExampleMode.Packed, string? ignore = null)
    {
        CheckSettings(config, maxLength, workers, batchSize, accumulation, optimizer);
        return CheckFiles(config, tokenizerDirectory, dataDirectory, outputDirectory, resume, maxLength, mode, ignore);
    }

    /// <summary>What can be checked without reading a file.</summary>
    public static void CheckSettings(PretrainedConfig config, int maxLength, int workers, int batchSize, int accumulation, OptimizerSettings optimizer)
    {
        if (workers < 1) throw new ArgumentException($"--workers must be at least 1, got {workers}");
        if (batchSize < 1) throw new ArgumentException($"--batch-size must be at least 1, got {batchSize}");
        if (accumulation < 1) throw new ArgumentException($"--grad-accum must be at least 1, got {accumulation}");
        optimizer.Validate();
        config.Validate();
        // RoBERTa's positions start after the padding index (pad + 1), so a sequence may use max_position_embeddings − 2.
        var positions = config.max_position_embeddings - (config.model_type == "roberta" ? 2 : 0);
        if (maxLength < 8 || maxLength > positions)
            throw new ArgumentException($"--max-length {maxLength} must be within [8, {positions}] (the config's max_position_embeddings is {config.max_position_embeddings})");
    }

    static string? CheckFiles(PretrainedConfig config, string tokenizerDirectory, string dataDirectory, string outputDirectory, bool resume, int maxLength, ExampleMode mode, string? ignore)
    {
        if (!Directory.Exists(tokenizerDirectory)) throw new ArgumentException($"--tokenizer: no directory {tokenizerDirectory}");
        using (var corpus = TokenCorpus.Open(dataDirectory, TokenizerFingerprint.Compute(tokenizerDirectory)))
        {
            if (corpus.Manifest.ModelType != config.model_type)
                throw new CorpusException($"{dataDirectory} was prepared with a {corpus.Manifest.ModelType} tokenizer, but the config is {config.model_type}");
            if (corpus.Manifest.VocabSize > config.vocab_size)
                throw new CorpusException($"the tokenizer's vocabulary ({corpus.Manifest.VocabSize} tokens) does not fit the config's vocab_size {config.vocab_size}");
            var examples = new PretrainingExamples(corpus, maxLength, mode).Count;
            if (examples < 1) throw new CorpusException($"{dataDirectory} holds {corpus.Tokens} tokens, not one example of {maxLength}");
        }
        var checkpoints = Path.Combine(outputDirectory, "checkpoints");
        if (resume)
            return TrainingCheckpoint.Latest(checkpoints)
                ?? throw new ArgumentException($"--resume: no complete checkpoint under {checkpoints}");
        if (Directory.Exists(outputDirectory) && Directory.EnumerateFileSystemEntries(outputDirectory).Any(e => ignore is null || Path.GetFullPath(e) != Path.GetFullPath(ignore)))
            throw new ArgumentException($"--out {outputDirectory} is not empty (pass --resume to continue the job saved there)");
        return null;
    }
}
