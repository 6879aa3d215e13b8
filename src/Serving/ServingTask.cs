using Cluster.Model.Tasks;

namespace Cluster.Serving;

/// <summary>What a request asks of a model; the names are the API's (Hugging Face's pipeline names where one exists).</summary>
public enum ServingTask { FillMask, SequenceClassification, TokenClassification, QuestionAnswering, MultipleChoice, Embed }

public static class ServingTasks
{
    static readonly (string name, ServingTask task)[] Names =
    [
        ("fill-mask", ServingTask.FillMask), ("sequence-classification", ServingTask.SequenceClassification),
        ("text-classification", ServingTask.SequenceClassification), ("token-classification", ServingTask.TokenClassification),
        ("ner", ServingTask.TokenClassification), ("question-answering", ServingTask.QuestionAnswering),
        ("multiple-choice", ServingTask.MultipleChoice), ("embed", ServingTask.Embed), ("feature-extraction", ServingTask.Embed),
    ];

    public static bool TryParse(string name, out ServingTask task)
    {
        foreach (var (n, t) in Names)
            if (n == name) { task = t; return true; }
        task = default;
        return false;
    }

    public static string Name(this ServingTask task) => Names.First(n => n.task == task).name;

    /// <summary>The task a model head answers; null for heads nothing is served from (causal LM, RoCBert's pretraining head).</summary>
    public static ServingTask? Of(Head head) => head switch
    {
        Head.MaskedLM => ServingTask.FillMask,
        Head.SequenceClassification => ServingTask.SequenceClassification,
        Head.TokenClassification => ServingTask.TokenClassification,
        Head.QuestionAnswering => ServingTask.QuestionAnswering,
        Head.MultipleChoice => ServingTask.MultipleChoice,
        _ => null,
    };
}
