namespace Cluster.Model.Tokenization;

/// <summary>
/// Hugging Face tokenizers' truncation: how many tokens each sequence keeps, and the windows (stride-overlapping
/// ranges) that cover what was cut off, in the order its TokenEncoding.merge_with produces them.
/// </summary>
internal static class Truncation
{
    /// <summary>Window ranges [start, end) per sequence; the first window of each is the kept part.</summary>
    public static (List<(int, int)> First, List<(int, int)>? Second) Windows(
        int firstLength, int? secondLength, int budget, TruncationStrategy strategy, int stride)
    {
        int total = firstLength + (secondLength ?? 0);
        if (total <= budget) return ([(0, firstLength)], secondLength is { } n ? [(0, n)] : null);
        if (budget <= 0)
            throw new TokenizerException($"max_length leaves no room for any token once special tokens are added (budget {budget})");
        int toRemove = total - budget;
        switch (strategy)
        {
            case TruncationStrategy.LongestFirst when secondLength is { } len2:
            {
                // Rust tokenizers' rule: the shorter keeps its length if the longer can still fit in the rest;
                // otherwise both get half the budget (the second the odd token).
                int n1 = firstLength, n2 = len2;
                bool swap = n1 > n2;
                if (swap) (n1, n2) = (n2, n1);
                n2 = n1 > budget ? n1 : Math.Max(n1, budget - n1);
                if (n1 + n2 > budget) { n1 = budget / 2; n2 = n1 + budget % 2; }
                if (swap) (n1, n2) = (n2, n1);
                return (Split(firstLength, n1, stride), Split(len2, n2, stride));
            }
            case TruncationStrategy.LongestFirst:
            case TruncationStrategy.OnlyFirst:
                if (firstLength <= toRemove)
                    throw new TokenizerException($"the first sequence has {firstLength} tokens, too few to remove {toRemove} with truncation {strategy}");
                return (Split(firstLength, firstLength - toRemove, stride), secondLength is { } s ? [(0, s)] : null);
            case TruncationStrategy.OnlySecond:
                if (secondLength is not { } second)
                    throw new TokenizerException("truncation only_second needs a pair of sequences");
                if (second <= toRemove)
                    throw new TokenizerException($"the second sequence has {second} tokens, too few to remove {toRemove} with truncation only_second");
                return ([(0, firstLength)], Split(second, second - toRemove, stride));
            default:
                throw new TokenizerException($"unknown truncation strategy {strategy}");
        }
    }

    /// <summary>Windows of at most <paramref name="keep"/> tokens, each starting keep - stride after the last.</summary>
    private static List<(int, int)> Split(int length, int keep, int stride)
    {
        if (keep >= length) return [(0, length)];
        if (keep <= 0)
            throw new TokenizerException("max_length leaves no room for one of the sequences once special tokens are added");
        if (stride >= keep)
            throw new TokenizerException($"stride {stride} must be smaller than the tokens kept per window ({keep})");
        var windows = new List<(int, int)>();
        for (int start = 0; ; start += keep - stride)
        {
            int end = Math.Min(start + keep, length);
            windows.Add((start, end));
            if (end == length) break;
        }
        return windows;
    }

    /// <summary>Pairs of windows in merge_with's order: main, then each first-overflow with every second window, then the main first with second overflows.</summary>
    public static IEnumerable<((int, int) First, (int, int)? Second)> Combinations(List<(int, int)> first, List<(int, int)>? second)
    {
        if (second is null)
        {
            foreach (var w in first) yield return (w, null);
            yield break;
        }
        yield return (first[0], second[0]);
        for (int i = 1; i < first.Count; i++)
            foreach (var w in second) yield return (first[i], w);
        for (int j = 1; j < second.Count; j++) yield return (first[0], second[j]);
    }
}
