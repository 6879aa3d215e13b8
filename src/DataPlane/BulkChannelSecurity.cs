using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text;

namespace Cluster.DataPlane;

/// <summary>How a bulk connection proves it belongs to the cluster: mutual TLS with the cluster's certificates
/// when they are configured, else the cluster's shared secret sent first (loopback or a trusted network only).</summary>
public abstract class BulkChannelSecurity
{
    public static BulkChannelSecurity SharedSecret(string secret) => new SecretSecurity(secret);
    public static BulkChannelSecurity Tls(ClusterCertificates certificates) => new TlsSecurity(certificates);

    public abstract string Description { get; }

    /// <summary>The authenticated stream of an accepted connection; throws <see cref="BulkAuthenticationException"/>.</summary>
    internal abstract Task<Stream> AcceptAsync(Socket socket, CancellationToken cancellation);

    /// <summary>The authenticated stream of a connection this side opened.</summary>
    internal abstract Task<Stream> ConnectAsync(Socket socket, CancellationToken cancellation);

    sealed class SecretSecurity(string secret) : BulkChannelSecurity
    {
        readonly byte[] _secret = Encoding.UTF8.GetBytes(secret);
        public override string Description => "shared secret";

        internal override async Task<Stream> AcceptAsync(Socket socket, CancellationToken cancellation)
        {
            var stream = new NetworkStream(socket, ownsSocket: true);
            var length = new byte[4];
            await stream.ReadExactlyAsync(length, cancellation).ConfigureAwait(false);
            var presented = BinaryPrimitives.ReadInt32LittleEndian(length);
            if (presented != _secret.Length) throw new BulkAuthenticationException("missing or wrong cluster secret");
            var bytes = new byte[presented];
            await stream.ReadExactlyAsync(bytes, cancellation).ConfigureAwait(false);
            if (!CryptographicOperations.FixedTimeEquals(bytes, _secret)) throw new BulkAuthenticationException("missing or wrong cluster secret");
            return stream;
        }

        internal override async Task<Stream> ConnectAsync(Socket socket, CancellationToken cancellation)
        {
            var stream = new NetworkStream(socket, ownsSocket: true);
            var hello = new byte[4 + _secret.Length];
            BinaryPrimitives.WriteInt32LittleEndian(hello, _secret.Length);
            _secret.CopyTo(hello, 4);
            try { await stream.WriteAsync(hello, cancellation).ConfigureAwait(false); }
            catch
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            return stream;
        }
    }

    sealed class TlsSecurity(ClusterCertificates certificates) : BulkChannelSecurity
    {
        public override string Description => "mutual TLS";

        internal override async Task<Stream> AcceptAsync(Socket socket, CancellationToken cancellation)
        {
            var tls = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
            try
            {
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = certificates.Certificate,
                    ClientCertificateRequired = true,
                    RemoteCertificateValidationCallback = (_, cert, chain, errors) => certificates.ValidatePeer(cert as System.Security.Cryptography.X509Certificates.X509Certificate2, chain, errors),
                }, cancellation).ConfigureAwait(false);
                return tls;
            }
            catch (Exception e) when (e is AuthenticationException or IOException)
            {
                await tls.DisposeAsync().ConfigureAwait(false);
                throw new BulkAuthenticationException($"TLS handshake refused: {e.Message}");
            }
        }

        internal override async Task<Stream> ConnectAsync(Socket socket, CancellationToken cancellation)
        {
            var tls = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
            try
            {
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = "cluster",
                    ClientCertificates = [certificates.Certificate],
                    RemoteCertificateValidationCallback = (_, cert, chain, errors) => certificates.ValidatePeer(cert as System.Security.Cryptography.X509Certificates.X509Certificate2, chain, errors),
                }, cancellation).ConfigureAwait(false);
                return tls;
            }
            catch (Exception e) when (e is AuthenticationException or IOException)
            {
                await tls.DisposeAsync().ConfigureAwait(false);
                throw new BulkAuthenticationException($"TLS handshake with the bulk peer failed: {e.Message}");
            }
        }
    }
}
