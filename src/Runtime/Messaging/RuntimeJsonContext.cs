using System.Text.Json.Serialization;
using Cluster.Runtime.Membership;

namespace Cluster.Runtime.Messaging;

/// <summary>Compile-time serializers for the runtime's own messages (membership operations, locations).
/// Grain arguments are the application's types, so those stay with the reflection resolver.</summary>
[JsonSerializable(typeof(MembershipRequest))]
[JsonSerializable(typeof(MembershipResponse))]
[JsonSerializable(typeof(GrainLocation))]
[JsonSourceGenerationOptions(UseStringEnumConverter = true)]
internal sealed partial class RuntimeJsonContext : JsonSerializerContext;
