using Cluster.Torch;
using static Cluster.Torch.torch.nn;

namespace Cluster.Model.Checkpoints;

/// <summary>
/// Loads a checkpoint's tensors into a model the way transformers does: the base-model prefix
/// ("roberta.", "roc_bert.") added or stripped as needed, tied weights satisfied by their other
/// name, legacy buffers (*.position_ids) ignored, and with strict, every other missing or
/// unexpected key named in the error.
/// </summary>
public static class StateDictLoader
{
    private static bool IsLegacy(string key) =>
        key.EndsWith(".position_ids", StringComparison.Ordinal) || key.EndsWith("embeddings.token_type_ids", StringComparison.Ordinal);

    /// <param name="basePrefix">the base model's attribute name in task models, e.g. "roberta".</param>
    /// <param name="allowNewHead">
    /// as from_pretrained for fine-tuning: a task head the checkpoint lacks keeps its fresh initialisation, and
    /// another head's weights are skipped; both are still reported. The body stays strict.
    /// </param>
    /// <param name="ignoreMismatchedSizes">as from_pretrained's ignore_mismatched_sizes: a tensor whose shape differs from
    /// the model's (a classifier with another label count) is not loaded, keeps its fresh initialisation and is reported.</param>
    public static LoadResult Load(Module model, IReadOnlyDictionary<string, Tensor> checkpoint, string basePrefix, bool strict = true,
        string source = "checkpoint", bool allowNewHead = false, bool ignoreMismatchedSizes = false)
    {
        var own = model.state_dict();
        string p = basePrefix + ".";
        bool modelHasPrefix = own.Keys.Any(k => k.StartsWith(p, StringComparison.Ordinal));
        bool checkpointHasPrefix = checkpoint.Keys.Any(k => k.StartsWith(p, StringComparison.Ordinal));

        // Map checkpoint names onto the model's: a base checkpoint into a task model gains the
        // prefix; a task checkpoint into a base model loses it and its head keys are not ours.
        var mapped = new Dictionary<string, Tensor>();
        var unexpected = new List<string>();
        foreach (var (key, value) in checkpoint)
        {
            string name = key;
            if (modelHasPrefix && !checkpointHasPrefix) name = p + key;
            else if (!modelHasPrefix && checkpointHasPrefix)
            {
                if (!key.StartsWith(p, StringComparison.Ordinal)) continue; // a head the base model does not have
                name = key[p.Length..];
            }
            if (own.ContainsKey(name)) mapped[name] = value;
            else if (!IsLegacy(key)) unexpected.Add(key);
        }

        // A missing key is fine when its tensor is the same object as one that was found (tied weights).
        var found = new HashSet<Tensor>(mapped.Keys.Select(k => own[k]), ReferenceEqualityComparer.Instance);
        var missing = own.Keys.Where(k => !mapped.ContainsKey(k) && !found.Contains(own[k])).ToList();
        // The pooler counts as a head: masked-LM checkpoints have none, and HF initialises it fresh.
        bool InBody(string key) => (!modelHasPrefix || key.StartsWith(p, StringComparison.Ordinal)) && !key.Contains("pooler.", StringComparison.Ordinal);
        var fatalMissing = allowNewHead ? missing.Where(InBody).ToList() : missing;
        var fatalUnexpected = (allowNewHead ? unexpected.Where(k => !checkpointHasPrefix || k.StartsWith(p, StringComparison.Ordinal)) : unexpected)
            // A pooler the head lacks is not fatal: pretraining checkpoints carry one. HF only warns about unexpected
            // keys, and RoBERTa's masked-LM head even lists the pooler as ignorable.
            .Where(k => !k.Contains("pooler.", StringComparison.Ordinal)).ToList();
        if (strict && (fatalMissing.Count > 0 || fatalUnexpected.Count > 0))
            throw new CheckpointException($"{source} does not fit {model.GetType().Name}: " +
                string.Join("; ", new[]
                {
                    fatalMissing.Count > 0 ? $"missing keys [{string.Join(", ", fatalMissing)}]" : null,
                    fatalUnexpected.Count > 0 ? $"unexpected keys [{string.Join(", ", fatalUnexpected)}]" : null,
                }.Where(s => s != null)));

        var mismatched = mapped.Where(kv => !own[kv.Key].shape.SequenceEqual(kv.Value.shape)).Select(kv => kv.Key).ToList();
        if (mismatched.Count > 0 && !ignoreMismatchedSizes)
        {
            var name = mismatched[0];
            throw new CheckpointException($"{source}: '{name}' has shape [{string.Join(", ", mapped[name].shape)}] but the model " +
                                          $"expects [{string.Join(", ", own[name].shape)}]");
        }
        foreach (var name in mismatched) mapped.Remove(name);
        model.load_state_dict(mapped, strict: false);
        return new LoadResult(missing, unexpected) { mismatched_keys = mismatched };
    }

    /// <summary>
    /// The tensors to save: every parameter and persistent buffer once, under its first name, so a
    /// tied decoder is written as the word embeddings only (as save_pretrained does).
    /// </summary>
    public static List<KeyValuePair<string, Tensor>> Unique(Module model)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        return model.state_dict().Where(kv => seen.Add(kv.Value)).ToList();
    }
}
