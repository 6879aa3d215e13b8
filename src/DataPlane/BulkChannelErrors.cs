namespace Cluster.DataPlane;

/// <summary>A bulk transfer that could not be made: the peer is unreachable, the connection broke, the port is taken.</summary>
public class BulkChannelException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A bulk connection whose peer could not prove it belongs to the cluster.</summary>
public sealed class BulkAuthenticationException(string message) : BulkChannelException(message);

/// <summary>A transfer whose header is malformed or whose size is over the receiver's limit.</summary>
public sealed class BulkFrameException(string message) : BulkChannelException(message);
