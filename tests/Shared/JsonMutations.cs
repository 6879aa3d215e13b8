using System.Text;
using System.Text.Json.Nodes;

namespace Cluster.Testing;

/// <summary>
/// Seeded mutations of a JSON file for loader fuzzing: a value replaced by one of another JSON type (or an absurd number),
/// a member removed or added, a byte flipped, the text cut short, or a byte that is never UTF-8.
/// </summary>
public static class JsonMutations
{
    private static readonly Func<Random, JsonNode?>[] Replacements =
    [
        _ => null, _ => true, _ => "text", _ => -1, _ => 0, _ => 1.5, _ => long.MaxValue, _ => 1e30, _ => new JsonArray(),
        _ => new JsonObject(), r => new JsonArray(r.Next(), "x"), r => new JsonObject { ["content"] = r.Next() },
    ];

    public static byte[] Mutate(string json, Random random, int i)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        switch (i % 6)
        {
            case 0 or 1:
            {
                var root = JsonNode.Parse(json)!;
                var nodes = Walk(root).Where(n => n.Parent is not null).ToList();
                var target = nodes[random.Next(nodes.Count)];
                Replace(target, Replacements[random.Next(Replacements.Length)](random));
                return Encoding.UTF8.GetBytes(root.ToJsonString());
            }
            case 2:
            {
                var root = JsonNode.Parse(json)!;
                var members = Walk(root).Where(n => n.Parent is JsonObject).ToList();
                if (members.Count > 0 && random.Next(2) == 0)
                {
                    var m = members[random.Next(members.Count)];
                    ((JsonObject)m.Parent!).Remove(m.GetPropertyName());
                }
                else if (root is JsonObject o) o["unexpected_" + random.Next(100)] = Replacements[random.Next(Replacements.Length)](random);
                return Encoding.UTF8.GetBytes(root.ToJsonString());
            }
            case 3:
                for (var n = random.Next(1, 4); n > 0; n--) bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                return bytes;
            case 4:
                return bytes[..random.Next(bytes.Length)];
            default:
                bytes[random.Next(bytes.Length)] = (byte)(0xF8 + random.Next(8)); // 0xF8-0xFF never occur in UTF-8
                return bytes;
        }
    }

    private static IEnumerable<JsonNode> Walk(JsonNode node)
    {
        yield return node;
        IEnumerable<JsonNode?> children = node switch
        {
            JsonObject o => o.Select(kv => kv.Value),
            JsonArray a => a,
            _ => [],
        };
        foreach (var child in children)
            if (child is not null)
                foreach (var n in Walk(child)) yield return n;
    }

    private static void Replace(JsonNode target, JsonNode? value)
    {
        switch (target.Parent)
        {
            case JsonObject o: o[target.GetPropertyName()] = value; break;
            case JsonArray a: a[target.GetElementIndex()] = value; break;
        }
    }
}
