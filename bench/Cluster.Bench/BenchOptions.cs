namespace Cluster.Bench;

internal sealed record BenchOptions(string Suite, int Iterations, int[] Sizes, string Python, string ScriptDir, int Batch, int[] Seqs, int Repeats,
                                    IReadOnlyDictionary<string, string> Named)
{
    /// <summary>A "--name value" option any suite may read.</summary>
    public string Get(string name, string fallback) => Named.TryGetValue(name, out var v) ? v : fallback;

    /// <summary>--device (cpu by default) and --dtype: float32, bfloat16 or float16; bfloat16 by default on a GPU,
    /// float32 on the CPU.</summary>
    public (Cluster.Torch.Device Device, string DtypeName, Cluster.Torch.ScalarType Dtype) DeviceAndDtype()
    {
        var device = Cluster.Torch.Device.Parse(Get("device", "cpu"));
        var name = Get("dtype", device.Type != Cluster.Torch.DeviceType.CPU ? "bfloat16" : "float32");
        var dtype = name switch
        {
            "float32" => Cluster.Torch.ScalarType.Float32,
            "bfloat16" => Cluster.Torch.ScalarType.BFloat16,
            "float16" => Cluster.Torch.ScalarType.Float16,
            _ => throw new ArgumentException($"--dtype {name}: expected float32, bfloat16 or float16"),
        };
        return (device, name, dtype);
    }

    public static BenchOptions Parse(string[] args)
    {
        string suite = args.Length > 0 && !args[0].StartsWith("--") ? args[0] : "torch";
        int iterations = 200_000;
        int[] sizes = [1024, 2048];
        string python = "/usr/bin/python3";
        int batch = 8, repeats = 3;
        int[] seqs = [128, 512];
        var named = new Dictionary<string, string>();
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i].StartsWith("--")) named[args[i][2..]] = args[i + 1];
            switch (args[i])
            {
                case "--iterations": iterations = int.Parse(args[i + 1]); break;
                case "--sizes": sizes = args[i + 1].Split(',').Select(int.Parse).ToArray(); break;
                case "--python": python = args[i + 1]; break;
                case "--batch": batch = int.Parse(args[i + 1]); break;
                case "--seqs": seqs = args[i + 1].Split(',').Select(int.Parse).ToArray(); break;
                case "--repeats": repeats = int.Parse(args[i + 1]); break;
            }
        }
        // --script-dir: where bench/'s reference scripts are, for a published copy that is not under bin/
        var scriptDir = named.TryGetValue("script-dir", out var dir) ? Path.GetFullPath(dir)
                                                                     : Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../"));
        return new BenchOptions(suite, iterations, sizes, python, scriptDir, batch, seqs, repeats, named);
    }
}
