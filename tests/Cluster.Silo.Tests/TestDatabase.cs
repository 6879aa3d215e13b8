using Npgsql;

namespace Cluster.Silo.Tests;

/// <summary>A fresh database on the throwaway PostgreSQL server that scripts/test.sh starts (CLUSTER_TEST_POSTGRES),
/// dropped afterwards; each test class gets its own, so schema tests start from nothing.</summary>
public sealed class TestDatabase : IAsyncLifetime
{
    public static string? ServerConnectionString => Environment.GetEnvironmentVariable("CLUSTER_TEST_POSTGRES");
    public const string SkipReason = "CLUSTER_TEST_POSTGRES is not set: scripts/test.sh starts a throwaway PostgreSQL and sets it";

    readonly string _name = $"cluster_test_{Guid.NewGuid():N}";
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (ServerConnectionString is null) return;
        await using (var server = new NpgsqlConnection(ServerConnectionString))
        {
            await server.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {_name}", server);
            await create.ExecuteNonQueryAsync();
        }
        ConnectionString = new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = _name, Pooling = false }.ConnectionString;
    }

    public async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        if (ServerConnectionString is null) return;
        NpgsqlConnection.ClearAllPools();
        await using var server = new NpgsqlConnection(ServerConnectionString);
        await server.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)", server);
        await drop.ExecuteNonQueryAsync();
    }
}

/// <summary>A fact that needs the test PostgreSQL server; skipped, with the reason shown, where it is not set.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (TestDatabase.ServerConnectionString is null) Skip = TestDatabase.SkipReason;
    }
}
