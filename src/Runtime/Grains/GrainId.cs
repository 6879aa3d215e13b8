using System.Globalization;

namespace Cluster.Runtime;

/// <summary>A grain's identity: its interface's full name and its key.</summary>
public readonly record struct GrainId(string Type, string Key)
{
    public static GrainId Of<TGrain>(string key) => new(GrainInterface.NameOf(typeof(TGrain)), key);
    public static GrainId Of<TGrain>(long key) => Of<TGrain>(key.ToString(CultureInfo.InvariantCulture));
    public override string ToString() => $"{Type}/{Key}";
}

/// <summary>A silo's internal endpoint plus the generation it started with, so a silo restarted on
/// the same port is a different member from the one that died there.</summary>
public sealed record SiloAddress(string Host, int Port, long Generation)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public Uri BaseUri => new($"http://{Host}:{Port}/");

    public override string ToString() => $"{Host}:{Port}@{Generation}";

    public static SiloAddress Parse(string text)
    {
        var at = text.LastIndexOf('@');
        var colon = at > 0 ? text.LastIndexOf(':', at) : -1;
        if (at < 0 || colon < 0
            || !int.TryParse(text.AsSpan(colon + 1, at - colon - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || !long.TryParse(text.AsSpan(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var generation))
            throw new FormatException($"'{text}' is not a silo address (expected host:port@generation)");
        return new SiloAddress(text[..colon], port, generation);
    }
}

/// <summary>Where a grain's single activation lives, and the device it is pinned to, if any.</summary>
public sealed record GrainLocation(GrainId Grain, SiloAddress Silo, string? Device);
