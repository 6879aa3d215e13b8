namespace Cluster.Training.FineTuning;

/// <summary>A fine-tuning file that cannot be used, naming the file, where in it (a line, or a JSON path for SQuAD
/// files) and the field.</summary>
public sealed class FineTuningDataException(string file, string where, string? field, string problem)
    : Exception($"{file}: {where}{(field is null ? "" : $": {field}")}: {problem}")
{
    public FineTuningDataException(string file, int line, string? field, string problem) : this(file, $"line {line}", field, problem) { }

    public string File { get; } = file;
}
