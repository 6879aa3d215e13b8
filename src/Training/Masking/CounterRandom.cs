namespace Cluster.Training.Masking;

/// <summary>Random numbers as a pure function of a counter (SplitMix64's finaliser applied to the mixed inputs): the
/// same (seed, epoch, example, position) gives the same number on any worker, in any order, after any restart.</summary>
public static class CounterRandom
{
    public static ulong Hash(ulong seed, ulong a, ulong b, ulong c)
    {
        var x = Mix(seed ^ 0x9E3779B97F4A7C15UL);
        x = Mix(x ^ a);
        x = Mix(x ^ (b * 0xD1B54A32D192ED03UL));
        return Mix(x ^ (c * 0xAEF17502108EF2D9UL));
    }

    /// <summary>A double in [0, 1) from the top 53 bits.</summary>
    public static double Uniform(ulong hash) => (hash >> 11) * (1.0 / (1UL << 53));

    static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
