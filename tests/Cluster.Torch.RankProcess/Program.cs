using Cluster.Torch;
using Cluster.Torch.Distributed;

// usage: RankProcess HOST PORT RANK SIZE
// Contributes [rank+1, 10·(rank+1), …] (8 values) to a sum all-reduce and prints the result as
// one line of space-separated numbers. Exit 0 on success, 2 on bad arguments, 1 on failure.
if (args.Length != 4 || !int.TryParse(args[1], out var port) || !int.TryParse(args[2], out var rank) || !int.TryParse(args[3], out var size))
{
    Console.Error.WriteLine("usage: RankProcess HOST PORT RANK SIZE");
    return 2;
}
try
{
    using var store = new TCPStore(args[0], port, isServer: false, timeout: TimeSpan.FromSeconds(60));
    using var group = ProcessGroup.Create(Backend.Gloo, store, rank, size, args[0], TimeSpan.FromSeconds(60));
    var values = Enumerable.Range(0, 8).Select(i => (float)((rank + 1) * Math.Pow(10, i % 4))).ToArray();
    using var t = torch.tensor(values, 8);
    group.all_reduce(t);
    Console.WriteLine(string.Join(' ', t.ToArray<float>()));
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"rank {rank}: {e.Message}");
    return 1;
}
