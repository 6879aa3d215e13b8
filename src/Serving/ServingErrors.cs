namespace Cluster.Serving;

/// <summary>A request the server refuses, with the kind of refusal (<see cref="ErrorType"/>, the API's
/// <c>error_type</c>); the HTTP layer maps each kind to one status code.</summary>
public abstract class ServingException(string errorType, string message) : Exception(message)
{
    public string ErrorType { get; } = errorType;
}

/// <summary>No model of that name is deployed.</summary>
public sealed class UnknownModelException(string message) : ServingException(ServingErrorTypes.UnknownModel, message);

/// <summary>The model has no head (or task) of that name.</summary>
public sealed class UnknownHeadException(string message) : ServingException(ServingErrorTypes.UnknownHead, message);

/// <summary>A field of the request is missing, of the wrong type or out of range; the message names it.</summary>
public sealed class InvalidRequestException(string message) : ServingException(ServingErrorTypes.InvalidInput, message);

/// <summary>The request is larger than configured: too many inputs, or an input with too many tokens and no truncation.</summary>
public sealed class RequestTooLargeException(string message) : ServingException(ServingErrorTypes.TooLarge, message);

/// <summary>The replica's queue is full: the request was not queued (back-pressure; retry later).</summary>
public sealed class OverloadedException(string message) : ServingException(ServingErrorTypes.Overloaded, message);

/// <summary>The replica is not (or no longer) able to run requests: loading failed, or it is shutting down.</summary>
public sealed class ReplicaUnavailableException(string message) : ServingException(ServingErrorTypes.Unavailable, message);

/// <summary>The <c>error_type</c> values of the API. One place, so the status mapping and the grains agree.</summary>
public static class ServingErrorTypes
{
    public const string UnknownModel = "unknown_model";
    public const string UnknownHead = "unknown_head";
    public const string InvalidInput = "invalid_input";
    public const string TooLarge = "payload_too_large";
    public const string Overloaded = "overloaded";
    public const string Unavailable = "unavailable";
    public const string Unauthorized = "unauthorized";
    public const string Internal = "internal";

    /// <summary>Rebuilds the exception a reply's error stands for (replies carry type and message, not exceptions).</summary>
    public static ServingException ToException(string errorType, string message) => errorType switch
    {
        UnknownModel => new UnknownModelException(message),
        UnknownHead => new UnknownHeadException(message),
        InvalidInput => new InvalidRequestException(message),
        TooLarge => new RequestTooLargeException(message),
        Overloaded => new OverloadedException(message),
        _ => new ReplicaUnavailableException(message),
    };
}
