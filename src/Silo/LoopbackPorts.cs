using System.Net;
using System.Net.Sockets;

namespace Cluster.Silo;

/// <summary>Ports for silos that run inside another program (the CLI's in-process cluster, the bench).</summary>
public static class LoopbackPorts
{
    /// <summary><paramref name="count"/> distinct loopback ports that were free a moment ago (held together while
    /// chosen, so none is handed out twice).</summary>
    public static int[] Free(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        foreach (var l in listeners) l.Start();
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        foreach (var l in listeners) l.Stop();
        return ports;
    }
}
