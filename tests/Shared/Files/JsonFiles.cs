using System.Text.Json.Nodes;

namespace Cluster.Testing;

/// <summary>Edits a JSON object file in place, for tests that break one field of a good file.</summary>
public static class JsonFiles
{
    /// <summary>Parses <paramref name="dir"/>/<paramref name="file"/>, applies <paramref name="edit"/>, writes it back;
    /// returns <paramref name="dir"/>.</summary>
    public static string Edit(string dir, string file, Action<JsonObject> edit)
    {
        var path = Path.Combine(dir, file);
        var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(node);
        File.WriteAllText(path, node.ToJsonString());
        return dir;
    }
}
