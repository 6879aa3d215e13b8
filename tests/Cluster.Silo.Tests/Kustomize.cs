using Cluster.Testing;
using YamlDotNet.RepresentationModel;

namespace Cluster.Silo.Tests;

/// <summary>
/// Enough of kustomize to check deploy/k8s without a cluster: a kustomization's resources (files or directories,
/// recursively), its namespace, image renames and strategic-merge patches (maps merged, lists of named maps merged by
/// name, other lists replaced). YAML is read with YamlDotNet into plain dictionaries, lists and strings.
/// </summary>
public static class Kustomize
{
    public static string Root => Path.Combine(Repository.Root, "deploy", "k8s");

    /// <summary>Every document of a YAML file, each a map.</summary>
    public static List<Dictionary<string, object?>> Documents(string path)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(path)) stream.Load(reader);
        return stream.Documents.Select(d => d.RootNode).Where(n => n is YamlMappingNode)
            .Select(n => (Dictionary<string, object?>)Plain(n)!).ToList();
    }

    static object? Plain(YamlNode node) => node switch
    {
        YamlMappingNode m => m.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => Plain(kv.Value)),
        YamlSequenceNode s => s.Children.Select(Plain).ToList(),
        YamlScalarNode v => v.Value,
        _ => null,
    };

    /// <summary>The objects the kustomization in <paramref name="dir"/> builds.</summary>
    public static List<Dictionary<string, object?>> Build(string dir)
    {
        var k = Documents(Path.Combine(dir, "kustomization.yaml")).Single();
        var objects = new List<Dictionary<string, object?>>();
        foreach (var resource in Strings(k.GetValueOrDefault("resources")))
        {
            var path = Path.GetFullPath(Path.Combine(dir, resource));
            objects.AddRange(Directory.Exists(path) ? Build(path) : Documents(path));
        }
        foreach (var patch in (k.GetValueOrDefault("patches") as List<object?> ?? []).Cast<Dictionary<string, object?>>())
            foreach (var doc in Documents(Path.Combine(dir, (string)patch["path"]!)))
            {
                var target = objects.SingleOrDefault(o => Kind(o) == Kind(doc) && Name(o) == Name(doc))
                    ?? throw new InvalidOperationException($"patch {patch["path"]} matches no {Kind(doc)} {Name(doc)}");
                Merge(target, doc);
            }
        foreach (var image in (k.GetValueOrDefault("images") as List<object?> ?? []).Cast<Dictionary<string, object?>>())
            foreach (var container in objects.SelectMany(Containers).Where(c => (string?)c["image"] == (string)image["name"]!))
                container["image"] = $"{image["newName"]}:{image["newTag"]}";
        if (k.GetValueOrDefault("namespace") is string ns)
            foreach (var o in objects.Where(o => Kind(o) != "Namespace")) Map(o, "metadata")["namespace"] = ns;
        return objects;
    }

    static void Merge(Dictionary<string, object?> into, Dictionary<string, object?> patch)
    {
        foreach (var (key, value) in patch)
        {
            if (value is Dictionary<string, object?> m && into.GetValueOrDefault(key) is Dictionary<string, object?> existing) Merge(existing, m);
            else if (value is List<object?> list && into.GetValueOrDefault(key) is List<object?> current && list.All(IsNamed) && current.All(IsNamed))
                foreach (var item in list.Cast<Dictionary<string, object?>>())
                {
                    var match = current.Cast<Dictionary<string, object?>>().FirstOrDefault(c => Equals(c["name"], item["name"]));
                    if (match is null) current.Add(item);
                    else Merge(match, item);
                }
            else into[key] = value;
        }
    }

    static bool IsNamed(object? item) => item is Dictionary<string, object?> d && d.ContainsKey("name");

    public static string? Kind(Dictionary<string, object?> o) => o.GetValueOrDefault("kind") as string;

    public static string? Name(Dictionary<string, object?> o) => (o.GetValueOrDefault("metadata") as Dictionary<string, object?>)?.GetValueOrDefault("name") as string;

    public static Dictionary<string, object?> Map(Dictionary<string, object?> o, params string[] path)
    {
        var at = o;
        foreach (var key in path)
            at = at.GetValueOrDefault(key) as Dictionary<string, object?> ?? throw new KeyNotFoundException($"{Kind(o)} {Name(o)} has no {string.Join('.', path)}");
        return at;
    }

    public static IEnumerable<Dictionary<string, object?>> List(Dictionary<string, object?> map, string key) =>
        (map.GetValueOrDefault(key) as List<object?> ?? []).Cast<Dictionary<string, object?>>();

    public static IEnumerable<string> Strings(object? list) => (list as List<object?> ?? []).Cast<string>();

    /// <summary>The pod template of a workload (StatefulSet, Deployment, Job), or null.</summary>
    public static Dictionary<string, object?>? PodTemplate(Dictionary<string, object?> o) =>
        Kind(o) is "StatefulSet" or "Deployment" or "Job" ? Map(o, "spec", "template") : null;

    public static IEnumerable<Dictionary<string, object?>> Containers(Dictionary<string, object?> o) =>
        PodTemplate(o) is { } t ? List(Map(t, "spec"), "containers") : [];
}
