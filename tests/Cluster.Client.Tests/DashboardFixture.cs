using Xunit;
using System.Net.Http.Headers;
using Cluster.Client.Serving;
using Cluster.Client.Training;
using Cluster.Grains;

namespace Cluster.Client.Tests;

/// <summary>Two in-process silos with an API key, serving "animals" (its encoder and a sequence classifier) from one
/// replica on each; the tests start their own jobs on the test corpus, so each sees one running from its start.</summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string Key = "dashboard-key";
    public TestCorpus Corpus { get; } = new();
    public ServingModels Models { get; } = new();
    public EmbeddedCluster Cluster { get; private set; } = null!;
    readonly string _outputs = Directory.CreateTempSubdirectory("cluster-dashboard-").FullName;

    public async Task InitializeAsync()
    {
        Cluster = await EmbeddedCluster.StartAsync(2, CancellationToken.None, apiKeys: [Key]);
        await ModelDeployer.DeployAsync(Cluster.GrainFactory,
            [new ModelDeployment("animals", Models.Encoder, [new HeadDeployment("kind", Models.SequenceClassifier)], 2)], TextWriter.Null);
    }

    /// <summary>Starts a job that would run far longer than any test (the test cancels it).</summary>
    public async Task<ITrainingJobGrain> StartLongJobAsync(string id)
    {
        var job = Cluster.GrainFactory.GetGrain<ITrainingJobGrain>(id);
        await job.Start(TestJobs.Spec(Corpus, id, Path.Combine(_outputs, id), steps: 1_000_000) with { CheckpointEvery = 0 });
        return job;
    }

    public HttpClient Http(string? key = Key)
    {
        var http = new HttpClient { BaseAddress = new Uri(Cluster.HttpUrls[0]), Timeout = TimeSpan.FromMinutes(2) };
        if (key is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Models.Dispose();
        Corpus.Dispose();
        Directory.Delete(_outputs, recursive: true);
    }
}

[CollectionDefinition("dashboard")]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>;
