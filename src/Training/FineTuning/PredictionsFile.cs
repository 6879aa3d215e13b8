using System.Text;
using System.Text.Json.Nodes;

namespace Cluster.Training.FineTuning;

/// <summary>
/// A labelled set's predictions as JSON lines, one per example in file order: <c>{"index": i, "prediction": …}</c>
/// (question answering adds the SQuAD <c>id</c>). The prediction is a label name, a list of names (multi-label), a
/// number (regression), the tags of the words that fit in <c>--max-length</c> (token classification), the answer's text
/// ("" for none) or the chosen ending's index. Hugging Face's example scripts write the same answers with
/// <c>do_predict</c> (predict_results.txt, predictions.txt, predict_predictions.json).
/// </summary>
public static class PredictionsFile
{
    /// <summary>Written beside the model in the job's output directory for its <c>--test</c> file.</summary>
    public const string TestName = "test_predictions.jsonl";

    /// <summary>Writes the file whole or not at all: a reader never sees half of it, and an older one stays until the
    /// new one is complete.</summary>
    public static void Write(string path, IEnumerable<JsonObject> predictions)
    {
        var partial = path + ".partial";
        using (var writer = new StreamWriter(partial, append: false, new UTF8Encoding(false)))
            foreach (var line in predictions) writer.Write(line.ToJsonString() + "\n");
        File.Move(partial, path, overwrite: true);
    }
}
