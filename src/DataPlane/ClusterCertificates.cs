using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cluster.DataPlane;

/// <summary>A certificate or key file that cannot be used, named with the reason.</summary>
public sealed class ClusterCertificateException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>This process's certificate (with its private key) and the cluster's own certificate authority.
/// Mutual TLS between silos, clients and bulk connections accepts exactly the peers whose certificate chains
/// to that authority; host names are not checked, because pods come and go with new names and addresses.</summary>
public sealed class ClusterCertificates : IDisposable
{
    ClusterCertificates(X509Certificate2 certificate, X509Certificate2 authority)
        => (Certificate, Authority) = (certificate, authority);

    public X509Certificate2 Certificate { get; }
    public X509Certificate2 Authority { get; }

    /// <summary>Reads PEM files: the certificate, its private key (PKCS#8 or PKCS#1, unencrypted) and the CA certificate.</summary>
    public static ClusterCertificates Load(string certificatePath, string keyPath, string authorityPath)
    {
        foreach (var (path, what) in new[] { (certificatePath, "certificate"), (keyPath, "private key"), (authorityPath, "CA certificate") })
            if (!File.Exists(path)) throw new ClusterCertificateException($"TLS {what} file '{path}' does not exist");
        X509Certificate2 certificate;
        try { certificate = X509Certificate2.CreateFromPemFile(certificatePath, keyPath); }
        catch (CryptographicException e)
        {
            throw new ClusterCertificateException($"TLS certificate '{certificatePath}' with key '{keyPath}' cannot be loaded: {e.Message}", e);
        }
        X509Certificate2 authority;
        try { authority = X509CertificateLoader.LoadCertificateFromFile(authorityPath); }
        catch (CryptographicException e)
        {
            certificate.Dispose();
            throw new ClusterCertificateException($"TLS CA certificate '{authorityPath}' cannot be loaded: {e.Message}", e);
        }
        return From(certificate, authority);
    }

    /// <summary>From certificates already in memory; <paramref name="certificate"/> must carry its private key.</summary>
    public static ClusterCertificates From(X509Certificate2 certificate, X509Certificate2 authority)
    {
        if (!certificate.HasPrivateKey)
            throw new ClusterCertificateException($"TLS certificate '{certificate.Subject}' has no private key");
        var certs = new ClusterCertificates(certificate, authority);
        if (!certs.IsIssuedByAuthority(certificate))
            throw new ClusterCertificateException($"TLS certificate '{certificate.Subject}' is not issued by the cluster CA '{authority.Subject}'");
        return certs;
    }

    /// <summary>Accepts a peer whose certificate chains to the cluster CA (and is within its validity period);
    /// the platform's own verdict is ignored, since the CA is in no system store.</summary>
    public bool ValidatePeer(X509Certificate2? peer, X509Chain? chain, SslPolicyErrors errors)
        => peer is not null && IsIssuedByAuthority(peer);

    bool IsIssuedByAuthority(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (!chain.Build(certificate)) return false;
        var root = chain.ChainElements[^1].Certificate;
        return root.RawDataMemory.Span.SequenceEqual(Authority.RawDataMemory.Span);
    }

    public void Dispose()
    {
        Certificate.Dispose();
        Authority.Dispose();
    }
}
