using Cluster.Silo.Postgres;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Cluster.Silo.Tests;

public sealed class PostgresSchemaTests : IAsyncLifetime
{
    readonly TestDatabase _database = new();
    public Task InitializeAsync() => _database.InitializeAsync();
    public Task DisposeAsync() => _database.DisposeAsync();

    /// <summary>Every query key Orleans.Clustering.AdoNet, Orleans.Persistence.AdoNet and Orleans.Reminders.AdoNet
    /// 10.4.2 read (their "not all required queries found" check, the storage provider's four, the reminder table's seven).</summary>
    static readonly string[] OrleansQueryKeys =
    [
        "GatewaysQueryKey", "MembershipReadRowKey", "MembershipReadAllKey", "InsertMembershipVersionKey", "UpdateIAmAlivetimeKey",
        "InsertMembershipKey", "UpdateMembershipKey", "DeleteMembershipTableEntriesKey", "CleanupDefunctSiloEntriesKey",
        "WriteToStorageKey", "ReadFromStorageKey", "ClearStorageKey", "DeleteStorageKey",
        "UpsertReminderRowKey", "ReadReminderRowsKey", "ReadReminderRowKey", "ReadRangeRows1Key", "ReadRangeRows2Key",
        "DeleteReminderRowKey", "DeleteReminderRowsKey",
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

    /// <summary>Orleans' own ADO.NET reminder table (the class the silo's reminder service uses) against our queries.</summary>
    [PostgresFact]
    public async Task Orleans_reminder_table_stores_reads_by_grain_and_ring_range_and_deletes_by_version()
    {
        await PostgresDatabase.EnsureSchemaAsync(_database.ConnectionString, CancellationToken.None);
        var type = typeof(Orleans.Configuration.AdoNetReminderTableOptions).Assembly.GetType("Orleans.Runtime.ReminderService.AdoNetReminderTable", throwOnError: true)!;
        var table = (IReminderTable)Activator.CreateInstance(type,
            Options.Create(new ClusterOptions { ClusterId = "c", ServiceId = "reminders-test" }),
            Options.Create(new Orleans.Configuration.AdoNetReminderTableOptions { Invariant = "Npgsql", ConnectionString = _database.ConnectionString }))!;
        await table.StartAsync(CancellationToken.None);

        var grain = GrainId.Create("trainingjob", "job-1");
        var start = new DateTime(2026, 12, 2, 7, 0, 0, DateTimeKind.Utc);
        var etag = await table.UpsertRow(new ReminderEntry { GrainId = grain, ReminderName = "watch", StartAt = start, Period = TimeSpan.FromSeconds(3) });
        Assert.Equal("0", etag);
        var row = await table.ReadRow(grain, "watch");
        Assert.NotNull(row);
        Assert.Equal(start, row!.StartAt.ToUniversalTime());
        Assert.Equal(TimeSpan.FromSeconds(3), row.Period);
        Assert.Equal("1", await table.UpsertRow(new ReminderEntry { GrainId = grain, ReminderName = "watch", StartAt = start, Period = TimeSpan.FromMinutes(1) }));
        Assert.Equal(TimeSpan.FromMinutes(1), (await table.ReadRow(grain, "watch"))!.Period);
        Assert.Single((await table.ReadRows(grain)).Reminders);

        // The ring ranges: one that holds the grain's hash and one that does not, in both the plain and the wrapping form.
        var hash = grain.GetUniformHashCode();
        Assert.Single((await table.ReadRows(hash - 1, hash)).Reminders);
        Assert.Empty((await table.ReadRows(hash, hash + 1)).Reminders);
        Assert.Single((await table.ReadRows(hash, hash)).Reminders); // the whole ring
        Assert.Single((await table.ReadRows(hash + 1, hash)).Reminders); // all but (hash, hash + 1]

        Assert.False(await table.RemoveRow(grain, "watch", "0")); // a stale version deletes nothing
        Assert.True(await table.RemoveRow(grain, "watch", "1"));
        Assert.Null(await table.ReadRow(grain, "watch"));
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
