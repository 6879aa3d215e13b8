namespace Cluster.Runtime;

/// <summary>The silo that held (or was to hold) a grain cannot be reached, or died during the call.</summary>
public sealed class SiloUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>No silo has the grain type, or the type has no such method.</summary>
public sealed class UnknownGrainException(string message) : Exception(message);

/// <summary>A device-placed grain found every matching device taken.</summary>
public sealed class NoFreeDeviceException(string message) : Exception(message);

/// <summary>A message that is not a well-formed call or response.</summary>
public sealed class MessageFormatException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A message larger than the silo accepts.</summary>
public sealed class MessageTooLargeException(string message) : Exception(message);

/// <summary>The silo refused the call's credentials (a missing or wrong cluster secret).</summary>
public sealed class ClusterUnauthorizedException(string message) : Exception(message);

/// <summary>A grain threw an exception whose type the caller cannot recreate; the remote type and message are kept.</summary>
public sealed class RemoteGrainException(string remoteType, string message) : Exception($"{remoteType}: {message}")
{
    public string RemoteType { get; } = remoteType;
}

/// <summary>Maps errors to HTTP status codes and back, in one place.</summary>
public static class ClusterErrors
{
    public static int StatusFor(Exception e) => e switch
    {
        MessageFormatException or System.Text.Json.JsonException => 400,
        ClusterUnauthorizedException => 401,
        UnknownGrainException => 404,
        MessageTooLargeException => 413,
        NoFreeDeviceException or SiloUnavailableException => 503,
        TimeoutException => 504,
        _ => 500,
    };

    /// <summary>The caller's exception for an error body: the same type when it is an Exception with a
    /// (string) constructor, else <see cref="RemoteGrainException"/>.</summary>
    public static Exception Recreate(string? type, string message)
    {
        if (type is not null)
        {
            var resolved = Type.GetType(type, throwOnError: false)
                ?? AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(type, throwOnError: false)).FirstOrDefault(t => t is not null);
            // (message, inner) first: for some types (ArgumentNullException) the lone string is not the message.
            if (resolved is not null && typeof(Exception).IsAssignableFrom(resolved))
            {
                if (resolved.GetConstructor([typeof(string), typeof(Exception)]) is { } withInner)
                    return (Exception)withInner.Invoke([message, null]);
                if (resolved.GetConstructor([typeof(string)]) is { } ctor)
                    return (Exception)ctor.Invoke([message]);
            }
        }
        return new RemoteGrainException(type ?? "unknown", message);
    }
}
