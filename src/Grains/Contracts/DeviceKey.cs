namespace Cluster.Grains;

/// <summary>The key of a grain that belongs to one silo, and optionally to one device on it: <c>SILO/DEVICE</c>,
/// where SILO is the silo's address as Orleans writes it (<c>10.0.0.5:11111@123456789</c>: endpoint and
/// generation, so a restarted silo is a different one). A grain with <c>[SiloKeyPlacement]</c> activates on
/// exactly that silo, and nowhere else.</summary>
public readonly record struct DeviceKey(string Silo, string? Device)
{
    public override string ToString() => Device is null ? Silo : $"{Silo}/{Device}";

    public static DeviceKey Parse(string key)
    {
        var slash = key.IndexOf('/');
        var (silo, device) = slash < 0 ? (key, null) : (key[..slash], key[(slash + 1)..]);
        if (silo.Length == 0 || !silo.Contains('@'))
            throw new ArgumentException($"grain key '{key}' does not name a silo (expected ADDRESS:PORT@GENERATION[/DEVICE])");
        if (device is not null) DeviceName.Validate(device);
        return new DeviceKey(silo, device);
    }
}
