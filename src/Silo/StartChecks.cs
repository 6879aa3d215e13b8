using System.Net;
using System.Net.Sockets;
using Cluster.Grains;

namespace Cluster.Silo;

/// <summary>What can be checked before anything is started or written, so a bad setting fails in one line and
/// leaves no membership row or half-made schema behind.</summary>
internal static class StartChecks
{
    /// <summary>Binds each port for a moment: a taken one is named before Orleans or Kestrel try it.</summary>
    public static void PortsAreFree(IPAddress listen, params (string What, int Port)[] ports)
    {
        foreach (var (what, port) in ports)
        {
            using var probe = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try { probe.Bind(new IPEndPoint(listen, port)); }
            catch (SocketException e)
            {
                var reason = e.SocketErrorCode == SocketError.AddressAlreadyInUse ? "is already in use" : $"cannot be bound ({e.Message})";
                throw new SiloStartException($"the {what} port {port} on {listen} {reason}", e);
            }
        }
    }

    /// <summary>CUDA devices must exist on this machine; the CPU always does (libtorch is loaded only for CUDA). Returns
    /// the list with cuda:all expanded to the devices there are.</summary>
    public static IReadOnlyList<string> DevicesExist(IReadOnlyList<string> devices)
    {
        if (!devices.Any(d => d != "cpu")) return devices;
        int present;
        try { present = Cluster.Torch.torch.cuda.is_available() ? Cluster.Torch.torch.cuda.device_count() : 0; }
        catch (Exception e) when (e is DllNotFoundException or Cluster.Torch.TorchException or TypeInitializationException)
        {
            throw new SiloStartException($"CUDA devices were asked for ({string.Join(",", devices)}) but libtorch cannot be loaded: {e.Message}", e);
        }
        try { devices = DeviceName.ExpandAllCuda(devices, present); }
        catch (ArgumentException e) { throw new SiloStartException(e.Message, e); }
        var wanted = devices.Select(DeviceName.CudaIndex).OfType<int>().ToList();
        var missing = wanted.FirstOrDefault(i => i >= present, -1);
        if (missing >= 0)
            throw new SiloStartException($"device cuda:{missing} is not on this machine ({(present == 0 ? "it has no CUDA device" : $"it has cuda:0..cuda:{present - 1}")})");
        return devices;
    }

    /// <summary>Orleans' Kubernetes hosting reads the pod from the downward API and talks to the API server.</summary>
    public static void KubernetesEnvironment(IReadOnlyDictionary<string, string?> environment)
    {
        var missing = new[] { "POD_NAME", "POD_NAMESPACE", "POD_IP", "KUBERNETES_SERVICE_HOST" }
            .Where(v => string.IsNullOrEmpty(environment.GetValueOrDefault(v))).ToList();
        if (missing.Count > 0)
            throw new SiloStartException($"--kubernetes needs the pod's environment, but {string.Join(", ", missing)} {(missing.Count == 1 ? "is" : "are")} not set (POD_* come from the downward API; see deploy/k8s)");
    }
}
