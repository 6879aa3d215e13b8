using System.Text.Json;
using Cluster.Model.Configuration;

namespace Cluster.Model.Tasks;

/// <summary>The heads a model directory can be run with; the names are the CLI's and the serving API's.</summary>
public enum Head { Base, MaskedLM, CausalLM, SequenceClassification, TokenClassification, QuestionAnswering, MultipleChoice, PreTraining }

public static class Heads
{
    private static readonly (string name, Head head)[] Names =
    [
        ("base", Head.Base), ("masked-lm", Head.MaskedLM), ("causal-lm", Head.CausalLM),
        ("sequence-classification", Head.SequenceClassification), ("token-classification", Head.TokenClassification),
        ("question-answering", Head.QuestionAnswering), ("multiple-choice", Head.MultipleChoice), ("pretraining", Head.PreTraining),
    ];

    public static IEnumerable<string> All => Names.Select(n => n.name);

    public static Head Parse(string name) =>
        Names.FirstOrDefault(n => n.name == name) is { name: not null } found
            ? found.head
            : throw new ArgumentException($"unknown head '{name}' (known: {string.Join(", ", All)})");

    public static string Name(this Head head) => Names.First(n => n.head == head).name;

    /// <summary>The head a Hugging Face class name stands for (config.json's architectures: RobertaForMaskedLM,
    /// RoCBertForTokenClassification, RobertaModel, …); null for a class of another family.</summary>
    public static Head? FromArchitecture(string architecture)
    {
        var suffix = architecture.StartsWith("RoCBert", StringComparison.Ordinal) ? architecture[7..]
            : architecture.StartsWith("Roberta", StringComparison.Ordinal) ? architecture[7..] : null;
        return suffix switch
        {
            "Model" => Head.Base, "ForMaskedLM" => Head.MaskedLM, "ForCausalLM" => Head.CausalLM,
            "ForSequenceClassification" => Head.SequenceClassification, "ForTokenClassification" => Head.TokenClassification,
            "ForQuestionAnswering" => Head.QuestionAnswering, "ForMultipleChoice" => Head.MultipleChoice, "ForPreTraining" => Head.PreTraining,
            _ => null,
        };
    }

    /// <summary>The class a saved config.json names first in <c>architectures</c>; null when it names none.</summary>
    public static string? SavedArchitecture(PretrainedConfig config)
        => config.extra.TryGetValue("architectures", out var names) && names.ValueKind == JsonValueKind.Array && names.GetArrayLength() > 0
            && names[0].ValueKind == JsonValueKind.String ? names[0].GetString() : null;
}
