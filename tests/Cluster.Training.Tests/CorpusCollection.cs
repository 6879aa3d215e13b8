namespace Cluster.Training.Tests;

[CollectionDefinition("corpus")]
public sealed class CorpusCollection : ICollectionFixture<TestCorpus>;
