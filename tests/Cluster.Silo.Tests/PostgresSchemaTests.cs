using Cluster.Silo.Postgres;

namespace Cluster.Silo.Tests;

public sealed class PostgresSchemaTests : IAsyncLifetime
{
    readonly TestDatabase _database = new();
    public Task InitializeAsync() => _database.InitializeAsync();
    public Task DisposeAsync() => _database.DisposeAsync();

    /// <summary>Every query key Orleans.Clustering.AdoNet and Orleans.Persistence.AdoNet 10.4.2 read (their
    /// "not all required queries found" check, and the storage provider's four).</summary>
    static readonly string[] OrleansQueryKeys =
    [
        "GatewaysQueryKey", "MembershipReadRowKey", "MembershipReadAllKey", "InsertMembershipVersionKey", "UpdateIAmAlivetimeKey",
        "InsertMembershipKey", "UpdateMembershipKey", "DeleteMembershipTableEntriesKey", "CleanupDefunctSiloEntriesKey",
        "WriteToStorageKey", "ReadFromStorageKey", "ClearStorageKey", "DeleteStorageKey",
    ];

    [PostgresFact]
    public async Task Silos_creating_the_schema_at_once_all_succeed_and_leave_one_copy()
    {
        await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => PostgresDatabase.EnsureSchemaAsync(_database.ConnectionString, CancellationToken.None))));
        Assert.Equal(OrleansQueryKeys.Length, await _database.CountAsync("SELECT count(*) FROM orleansquery"));
        foreach (var key in OrleansQueryKeys)
            Assert.Equal(1, await _database.CountAsync($"SELECT count(*) FROM orleansquery WHERE querykey = '{key}'"));
        // Applying it again (a silo restart) changes nothing.
        await PostgresDatabase.EnsureSchemaAsync(_database.ConnectionString, CancellationToken.None);
        Assert.Equal(OrleansQueryKeys.Length, await _database.CountAsync("SELECT count(*) FROM orleansquery"));
        Assert.Equal(0, await _database.CountAsync("SELECT count(*) FROM information_schema.columns WHERE column_name = 'metadatajson'"));
    }

    [PostgresFact]
    public async Task A_schema_that_fails_midway_leaves_nothing_behind()
    {
        // A conflicting object of one of our names makes a later statement fail.
        await _database.ExecuteAsync("CREATE TABLE orleansstorage (unrelated integer)");
        var e = await Assert.ThrowsAsync<PostgresSetupException>(() => PostgresDatabase.EnsureSchemaAsync(_database.ConnectionString, CancellationToken.None));
        Assert.Contains("PostgreSQL at 127.0.0.1", e.Message);
        Assert.Equal(0, await _database.CountAsync("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('orleansquery', 'orleansmembershiptable', 'orleansmembershipversiontable')"));
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Port=1;Username=x;Timeout=2", "PostgreSQL at 127.0.0.1:1")]
    [InlineData("Host=127.0.0.1;Port=notaport", "connection string is malformed")]
    [InlineData("Bogus Key=1", "connection string is malformed")]
    [InlineData("Username=x", "names no Host")]
    public async Task Unreachable_and_malformed_databases_are_named(string connectionString, string expected)
    {
        var e = await Assert.ThrowsAsync<PostgresSetupException>(() => PostgresDatabase.EnsureSchemaAsync(connectionString, CancellationToken.None));
        Assert.Contains(expected, e.Message);
    }
}
