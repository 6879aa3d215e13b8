using Cluster.Bench;

// usage: Cluster.Bench torch [--iterations N] [--sizes 1024,2048] [--python /usr/bin/python3]
var options = BenchOptions.Parse(args);
return options.Suite switch
{
    "torch" => TorchOverheadBench.Run(options),
    _ => Fail($"unknown benchmark '{options.Suite}' (known: torch)"),
};

static int Fail(string message)
{
    Console.Error.WriteLine($"Cluster.Bench: {message}");
    return 2;
}
