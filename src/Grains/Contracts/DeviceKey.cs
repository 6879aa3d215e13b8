namespace Cluster.Grains;

/// <summary>The key of a grain that belongs to one silo, and optionally to one device on it: <c>SILO/DEVICE</c>,
/// where SILO is the silo's address as Orleans writes it (<c>10.0.0.5:11111@123456789</c>: endpoint and
/// generation, so a restarted silo is a different one). A grain with <c>[SiloKeyPlacement]</c> activates on
/// exactly that silo, and nowhere else. Several grains on one device add a name after it: <c>SILO/DEVICE/NAME</c>
/// (a serving replica: the model and its index).</summary>
public readonly record struct DeviceKey(string Silo, string? Device, string? Name = null)
{
    public override string ToString() => Device is null ? Silo : Name is null ? $"{Silo}/{Device}" : $"{Silo}/{Device}/{Name}";

    public static DeviceKey Parse(string key)
    {
        var parts = key.Split('/', 3);
        var silo = parts[0];
        if (silo.Length == 0 || !silo.Contains('@'))
            throw new ArgumentException($"grain key '{key}' does not name a silo (expected ADDRESS:PORT@GENERATION[/DEVICE[/NAME]])");
        var device = parts.Length > 1 ? parts[1] : null;
        if (device is not null) DeviceName.Validate(device);
        var name = parts.Length > 2 ? parts[2] : null;
        if (name is { Length: 0 }) throw new ArgumentException($"grain key '{key}' ends in an empty name");
        return new DeviceKey(silo, device, name);
    }
}
