namespace Cluster.Grains.Training;

/// <summary>The period of the reminder every unfinished job holds: when it fires on an activation that runs nothing
/// (the coordinator's silo died, or shut down), the job resumes there from its last checkpoint.</summary>
public sealed record JobWatch(TimeSpan Period);
