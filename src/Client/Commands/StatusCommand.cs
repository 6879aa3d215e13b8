using System.CommandLine;
using Cluster.Client.Connection;
using Cluster.Grains;

namespace Cluster.Client.Commands;

/// <summary>`cluster status`: the members of a running cluster, their devices and who holds them.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var options = new ClusterOptions();
        var command = new Command("status", "Show the members of a running cluster, their devices and what holds them");
        options.AddTo(command);
        command.SetAction(async (parsed, cancellation) =>
        {
            await using var connection = await ClusterConnection.ConnectAsync(options.Read(parsed), cancellation);
            var status = await connection.Client.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key).GetStatus();
            Console.Write(Render(status));
            return 0;
        });
        return command;
    }

    public static string Render(ClusterStatus status)
    {
        var rows = status.Members.Select(m => new[]
        {
            m.Name, m.Silo, m.Status.ToLowerInvariant(),
            m.Devices.Count == 0 ? "-" : string.Join(", ", m.Devices.Select(d => $"{d.Device} ({(d.Owner is null ? "free" : "held by " + d.Owner)})")),
        }).ToList();
        var header = new[] { "name", "silo", "status", "devices" };
        var widths = header.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        string Line(string[] cells) => string.Join("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd() + "\n";
        var text = new System.Text.StringBuilder();
        var active = status.Members.Count(m => m.Status == "Active");
        text.Append($"{status.Members.Count} member(s), {active} active; {status.Members.Sum(m => m.Devices.Count)} device(s), {status.Members.Sum(m => m.Devices.Count(d => d.Owner is not null))} held\n");
        text.Append(Line(header));
        foreach (var row in rows) text.Append(Line(row));
        return text.ToString();
    }
}
