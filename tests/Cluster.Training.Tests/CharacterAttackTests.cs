using Cluster.Training.Masking;

namespace Cluster.Training.Tests;

public sealed class CharacterAttackTests
{
    // A toy vocabulary of 1,000 ids: 0–4 special; ids 5–504 drawn alike in fours (shape id/4); ids 5–899 sound alike
    // with every 50th (pronunciation id%50); ids 900–999 in neither map (they take [UNK]'s ids, 1 and 1).
    const int Vocab = 1000;
    static readonly HashSet<int> Specials = [0, 1, 2, 3, 4];
    static readonly int[] ShapeOf = Enumerable.Range(0, Vocab).Select(id => id is >= 5 and < 505 ? 100 + id / 4 : id < 5 ? id : 1).ToArray();
    static readonly int[] SoundOf = Enumerable.Range(0, Vocab).Select(id => id is >= 5 and < 900 ? 1000 + id % 50 : id < 5 ? id : 1).ToArray();
    static readonly CharacterAttack Attack = new(ShapeOf, SoundOf, unknownShape: 1, unknownPronunciation: 1, Specials);

    static (int[] Ids, int[] Shapes, int[] Sounds, int Swapped) Run(int[] ids, ulong seed = 7, long epoch = 0, long example = 3, int variant = 0)
    {
        var (a, s, p) = (new int[ids.Length], new int[ids.Length], new int[ids.Length]);
        var swapped = Attack.Apply(seed, epoch, example, variant, ids, a, s, p);
        return (a, s, p, swapped);
    }

    [Fact]
    public void Swaps_the_recipes_share_of_tokens_for_ones_drawn_or_sounding_alike()
    {
        var random = new Random(5);
        var (bothKinds, drawnAlike) = (0, 0);
        for (var example = 0; example < 400; example++)
        {
            var ids = new[] { 2 }.Concat(Enumerable.Range(0, 60).Select(_ => random.Next(5, 900))).Append(3).ToArray();
            var (attacked, shapes, sounds, swapped) = Run(ids, example: example);
            Assert.Equal((int)(60 * 0.15), swapped);   // 9 of the 60 ordinary tokens
            var changed = Enumerable.Range(0, ids.Length).Where(i => attacked[i] != ids[i]).ToArray();
            Assert.Equal(swapped, changed.Length);
            Assert.Equal(2, attacked[0]);
            Assert.Equal(3, attacked[^1]);
            foreach (var i in changed)
            {
                bool sameShape = ShapeOf[attacked[i]] == ShapeOf[ids[i]], sameSound = SoundOf[attacked[i]] == SoundOf[ids[i]];
                Assert.True(sameShape || sameSound, $"{ids[i]} → {attacked[i]} shares neither shape nor pronunciation");
                if (ids[i] >= 505) continue;   // ids 5–504 have alternatives of both kinds: the kind is a fair draw
                bothKinds++;
                if (sameShape) drawnAlike++;
            }
            Assert.Equal(attacked.Select(id => ShapeOf[id]), shapes);
            Assert.Equal(attacked.Select(id => SoundOf[id]), sounds);
        }
        Assert.InRange(drawnAlike / (double)bothKinds, 0.45, 0.55);   // ~2,000 swaps: over four standard deviations
    }

    [Fact]
    public void Is_a_pure_function_of_seed_epoch_example_and_variant()
    {
        var ids = Enumerable.Range(5, 40).ToArray();
        Assert.Equal(Run(ids).Ids, Run(ids).Ids);
        Assert.NotEqual(Run(ids).Ids, Run(ids, seed: 8).Ids);
        Assert.NotEqual(Run(ids).Ids, Run(ids, epoch: 1).Ids);
        Assert.NotEqual(Run(ids).Ids, Run(ids, example: 4).Ids);
        Assert.NotEqual(Run(ids).Ids, Run(ids, variant: 1).Ids);
    }

    [Fact]
    public void Leaves_short_sentences_special_tokens_and_tokens_without_alternatives_alone()
    {
        int[] shortOne = [2, 10, 11, 12, 13, 14, 3];   // five ordinary tokens: fewer than six
        Assert.Equal(shortOne, Run(shortOne).Ids);
        Assert.Equal(0, Run(shortOne).Swapped);
        // Six ordinary tokens: at least two are swapped, even though 15% of six is zero.
        int[] six = [2, 10, 11, 12, 13, 14, 15, 3];
        Assert.Equal(2, Run(six).Swapped);
        // Tokens in neither map (900–999) share only [UNK]'s ids: never swapped.
        var unmapped = Enumerable.Range(900, 50).ToArray();
        Assert.Equal(unmapped, Run(unmapped).Ids);
        var padded = Enumerable.Range(5, 20).Concat(Enumerable.Repeat(0, 20)).ToArray();
        Assert.All(Run(padded).Ids.Skip(20), id => Assert.Equal(0, id));
    }

    [Fact]
    public void Attacks_the_input_of_the_recipes_share_of_examples()
    {
        var attacked = Enumerable.Range(0, 100_000).Count(e => Attack.AttacksInput(7, 0, e));
        Assert.InRange(attacked / 100_000.0, 0.095, 0.105);   // ±0.5%: over five standard deviations
    }
}
