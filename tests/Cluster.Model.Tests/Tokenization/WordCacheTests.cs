using Xunit;
using Cluster.Model.Tokenization;

namespace Cluster.Model.Tests.Tokenization;

/// <summary>The shared BPE word cache, checked against a plain dictionary holding what was added.</summary>
public class WordCacheTests
{
    /// <summary>A value that can be recomputed from its key, so any reader can tell a wrong or torn entry.</summary>
    private static int[] ValueOf(string word) => [word.Length, word[0], word[^1], string.GetHashCode(word) & 0xFFFF];

    private static string Word(Random random, int maxLength)
    {
        var chars = new char[random.Next(1, maxLength + 1)];
        for (int i = 0; i < chars.Length; i++) chars[i] = (char)random.Next('a', 'a' + 6);
        return new string(chars);
    }

    [Fact]
    public void FindsExactlyTheWordsAdded()
    {
        var cache = new WordCache();
        cache.Add("hello", [1, 5]);
        cache.Add("hell", [2, 4]);
        Assert.True(cache.TryGet("hello", out var a));
        Assert.Equal([1, 5], a.ToArray());
        Assert.True(cache.TryGet("hello world".AsSpan(0, 4), out var b));
        Assert.Equal([2, 4], b.ToArray());
        Assert.False(cache.TryGet("hel", out _));
        Assert.False(cache.TryGet("hellO", out _));
        Assert.False(cache.TryGet("", out _));
        cache.Add("hello", [9, 9]);   // first value stays (a word's tokens never change)
        Assert.True(cache.TryGet("hello", out var c));
        Assert.Equal([1, 5], c.ToArray());
    }

    [Fact]
    public void KeepsEveryEntryAcrossGrowth()
    {
        var cache = new WordCache();
        var random = new Random(7);
        var added = new Dictionary<string, int[]>();
        // Many short words grow the entry table; some long ones grow the character space on their own.
        for (int i = 0; i < 20_000; i++)
        {
            string word = i % 500 == 0 ? Word(random, 3000) : Word(random, 12);
            if (added.TryAdd(word, ValueOf(word))) cache.Add(word, added[word]);
        }
        Assert.Equal(added.Count, cache.Count);
        foreach (var (word, value) in added)
        {
            Assert.True(cache.TryGet(word, out var found), word);
            Assert.Equal(value, found.ToArray());
        }
    }

    [Fact]
    public void SkipsWordsOverTheLengthLimit()
    {
        var cache = new WordCache();
        string longest = new('x', WordCache.MaxWordLength), tooLong = new('y', WordCache.MaxWordLength + 1);
        cache.Add(longest, [1]);
        cache.Add(tooLong, [2]);
        Assert.True(cache.TryGet(longest, out _));
        Assert.False(cache.TryGet(tooLong, out _));
    }

    [Fact]
    public void StartsOverWhenFullAndStillAnswersCorrectly()
    {
        var cache = new WordCache();
        int peak = 0;
        string last = "";
        for (int i = 0; i < 300_000; i++)
        {
            last = $"w{i}";
            cache.Add(last, ValueOf(last));
            peak = Math.Max(peak, cache.Count);
        }
        Assert.True(cache.Count < peak, $"the cache never started over (peak {peak}, now {cache.Count})");
        Assert.True(peak <= 1 << 18, $"the cache held {peak} entries, over its limit");
        Assert.True(cache.TryGet(last, out var value));
        Assert.Equal(ValueOf(last), value.ToArray());
    }

    [Fact]
    public void ReadersAndWritersOnManyThreadsNeverSeeAWrongEntry()
    {
        var cache = new WordCache();
        int hits = 0, wrong = 0;
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            var random = new Random(t);
            for (int i = 0; i < 200_000; i++)
            {
                string word = Word(random, random.Next(4) == 0 ? 40 : 7);
                if (cache.TryGet(word, out var found))
                {
                    Interlocked.Increment(ref hits);
                    if (!found.SequenceEqual(ValueOf(word))) Interlocked.Increment(ref wrong);
                }
                else cache.Add(word, ValueOf(word));
            }
        });
        Assert.Equal(0, wrong);
        Assert.True(hits > 100_000, $"only {hits} hits: the threads did not share the cache");
    }
}
