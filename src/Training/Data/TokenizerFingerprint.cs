using System.Security.Cryptography;
using System.Text;

namespace Cluster.Training.Data;

/// <summary>The SHA-256 of a tokenizer's files (names and bytes, in a fixed order): a prepared corpus records it, and
/// training refuses a tokenizer whose fingerprint differs, so ids are never read with the wrong vocabulary.</summary>
public static class TokenizerFingerprint
{
    static readonly string[] Files =
    [
        "vocab.json", "merges.txt", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
        "added_tokens.json", "word_shape.json", "word_pronunciation.json",
    ];

    public static string Compute(string tokenizerDirectory)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var any = false;
        foreach (var name in Files)
        {
            var path = Path.Combine(tokenizerDirectory, name);
            if (!File.Exists(path)) continue;
            any = true;
            hash.AppendData(Encoding.UTF8.GetBytes(name + "\n"));
            hash.AppendData(File.ReadAllBytes(path));
        }
        if (!any) throw new CorpusException($"{tokenizerDirectory}: no tokenizer files ({string.Join(", ", Files.Take(3))}, …)");
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
