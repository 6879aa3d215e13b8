namespace Cluster.Grains;

/// <summary>Every job submitted to the cluster, in submission order (one index per cluster, under <see cref="JobIndex.Key"/>);
/// each job's state is its own grain's.</summary>
[Alias("cluster.IJobIndexGrain")]
public interface IJobIndexGrain : IGrainWithStringKey
{
    [Alias("Add")]
    Task Add(string jobId);

    [Alias("List")]
    Task<IReadOnlyList<string>> List();
}

public static class JobIndex
{
    public const string Key = "jobs";
}
