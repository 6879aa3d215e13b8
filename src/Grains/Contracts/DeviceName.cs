using System.Globalization;

namespace Cluster.Grains;

/// <summary>A device a silo advertises: <c>cpu</c> or <c>cuda:N</c>, as PyTorch names them.</summary>
public static class DeviceName
{
    /// <summary>Every CUDA device the process can see (in Kubernetes: the nvidia.com/gpu the pod was given); a silo
    /// expands it at start, so one silo advertises as many devices as it has.</summary>
    public const string AllCuda = "cuda:all";

    /// <summary>The kind of a device name: <c>cpu</c> or <c>cuda</c>.</summary>
    public static string Kind(string device) => device.Split(':')[0];

    /// <summary>The device list as a silo advertises it (<c>cpu,cuda:0</c>); throws ArgumentException naming a bad entry.</summary>
    public static IReadOnlyList<string> ParseList(string list)
    {
        var devices = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (devices.Length == 0) throw new ArgumentException("the device list is empty (known devices: cpu, cuda:N)");
        foreach (var device in devices) Validate(device);
        var repeated = devices.GroupBy(d => d, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new ArgumentException($"device '{repeated.Key}' is listed twice");
        return devices;
    }

    public static void Validate(string device)
    {
        if (device is "cpu" or AllCuda) return;
        if (device.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(device.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < 1024
            && device[5..] == index.ToString(CultureInfo.InvariantCulture))
            return;
        throw new ArgumentException($"unknown device '{device}' (known devices: cpu, cuda:N)");
    }

    /// <summary>The CUDA index of <c>cuda:N</c>, or null for the CPU.</summary>
    public static int? CudaIndex(string device)
        => device.StartsWith("cuda:", StringComparison.Ordinal) && device != AllCuda ? int.Parse(device.AsSpan(5), CultureInfo.InvariantCulture) : null;

    /// <summary>The list with <see cref="AllCuda"/> replaced by cuda:0 … cuda:N-1 (without repeating one listed as well).</summary>
    public static IReadOnlyList<string> ExpandAllCuda(IReadOnlyList<string> devices, int visible)
    {
        if (!devices.Contains(AllCuda)) return devices;
        if (visible == 0) throw new ArgumentException($"{AllCuda} was asked for but no CUDA device is visible");
        return devices.SelectMany(d => d == AllCuda ? Enumerable.Range(0, visible).Select(i => $"cuda:{i}") : [d]).Distinct().ToList();
    }
}
