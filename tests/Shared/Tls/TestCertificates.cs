using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cluster.Testing;

/// <summary>A throwaway certificate authority and certificates it issues, made in memory (the same shapes the
/// README's openssl commands make): a CA with the cert-sign usage, leaf certificates for both client and server
/// authentication, as silos are both.</summary>
public sealed class TestCertificates : IDisposable
{
    readonly RSA _caKey = RSA.Create(2048);

    public TestCertificates(string name = "Cluster Test CA")
    {
        var request = new CertificateRequest($"CN={name}", _caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        Authority = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    public X509Certificate2 Authority { get; }

    /// <summary>A certificate issued by this CA, with its private key.</summary>
    public X509Certificate2 Issue(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client authentication
        var serial = RandomNumberGenerator.GetBytes(16);
        using var issued = request.Create(Authority, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(20), serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Writes <c>NAME.crt</c>, <c>NAME.key</c> (PKCS#8 PEM) and <c>ca.crt</c> into <paramref name="directory"/>.</summary>
    public (string Certificate, string Key, string Authority) WritePem(string directory, string name)
    {
        Directory.CreateDirectory(directory);
        using var certificate = Issue(name);
        var (cert, key, ca) = (Path.Combine(directory, $"{name}.crt"), Path.Combine(directory, $"{name}.key"), Path.Combine(directory, "ca.crt"));
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        File.WriteAllText(key, certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(ca, Authority.ExportCertificatePem());
        return (cert, key, ca);
    }

    public void Dispose()
    {
        Authority.Dispose();
        _caKey.Dispose();
    }
}
