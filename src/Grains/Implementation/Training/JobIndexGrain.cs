using Cluster.Grains.Hosting;

namespace Cluster.Grains.Training;

/// <summary>The cluster's job ids, kept in grain storage so the list outlives the silo it is on.</summary>
public sealed class JobIndexGrain(
    [PersistentState("job-index", ClusterSiloBuilderExtensions.StorageName)] IPersistentState<JobIndexState> index) : Grain, IJobIndexGrain
{
    public async Task Add(string jobId)
    {
        if (index.State.Jobs.Contains(jobId)) return;
        index.State.Jobs.Add(jobId);
        await index.WriteStateAsync();
    }

    public Task<IReadOnlyList<string>> List() => Task.FromResult<IReadOnlyList<string>>(index.State.Jobs.ToList());
}

[GenerateSerializer, Alias("cluster.JobIndexState")]
public sealed class JobIndexState
{
    [Id(0)] public List<string> Jobs { get; set; } = [];
}
