namespace Cluster.Silo.Dashboard;

// What the dashboard's script reads (snake_case JSON): views of the grains' own records, shaped for a page.

/// <summary>The cluster's members, and the silo that answered.</summary>
public sealed record ClusterView(string ThisSilo, IReadOnlyList<MemberView> Members);

/// <summary>A member, its devices, and (while it answers) its process.</summary>
public sealed record MemberView(string Name, string Silo, string Status, IReadOnlyList<DeviceView> Devices,
    int? ProcessId, long? WorkingSetBytes, DateTime? StartedAt, string? OrleansVersion);

public sealed record DeviceView(string Device, string? Owner);

/// <summary>A job's status with its pace over its last steps; <see cref="Reachable"/> false when its grain did not
/// answer in time (its silo just died: the job is re-activated elsewhere shortly).</summary>
public sealed record JobView(string Id, string State, long Step, long MaxSteps, IReadOnlyList<string> Workers, string? Coordinator,
    string? Error, string? LastCheckpoint, double? Loss, double? TokensPerSecond, double? EtaSeconds,
    IReadOnlyList<string> Events, IReadOnlyList<Grains.EvaluationRecord> Evaluations, bool Reachable = true)
{
    public bool Finished => State is "completed" or "failed" or "cancelled";
}

/// <summary>A job's loss curve after a step: <c>[step, loss]</c> pairs (steps counted from 1, as the CLI prints them).</summary>
public sealed record StepsView(string State, IReadOnlyList<double[]> Steps);

/// <summary>The deployed models (each replica's silo, device, queue depth and recent latency) and the default one.</summary>
public sealed record ModelsView(string? Default, IReadOnlyList<Grains.ModelStatus> Models);
