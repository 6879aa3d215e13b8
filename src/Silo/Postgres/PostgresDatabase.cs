using System.Reflection;
using Npgsql;

namespace Cluster.Silo.Postgres;

/// <summary>The database is unreachable, refuses us, or the connection string is malformed.</summary>
public sealed class PostgresSetupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The PostgreSQL database that holds a cluster's membership and grain state.</summary>
public static class PostgresDatabase
{
    /// <summary>Any constant: the advisory lock under which silos create the schema one at a time.</summary>
    const long SchemaLock = 0x436c7573746572; // "Cluster"

    public static string SchemaSql { get; } = ReadSchema();

    /// <summary>Validates a connection string without connecting; the message names what is wrong.</summary>
    public static NpgsqlConnectionStringBuilder Parse(string connectionString)
    {
        NpgsqlConnectionStringBuilder builder;
        try { builder = new NpgsqlConnectionStringBuilder(connectionString); }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException)
        {
            throw new PostgresSetupException($"PostgreSQL connection string is malformed: {e.Message}", e);
        }
        if (string.IsNullOrWhiteSpace(builder.Host)) throw new PostgresSetupException("PostgreSQL connection string names no Host");
        return builder;
    }

    /// <summary>Creates the tables and stored queries where they are missing and brings the queries up to date,
    /// in one transaction under an advisory lock: silos starting together wait for each other instead of failing,
    /// and an error leaves the database as it was.</summary>
    public static async Task EnsureSchemaAsync(string connectionString, CancellationToken cancellation)
    {
        var builder = Parse(connectionString);
        builder.Timeout = Math.Min(builder.Timeout, 10);
        try
        {
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellation);
            await using var transaction = await connection.BeginTransactionAsync(cancellation);
            await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({SchemaLock})", connection, transaction))
                await lockCommand.ExecuteNonQueryAsync(cancellation);
            await using (var schema = new NpgsqlCommand(SchemaSql, connection, transaction))
                await schema.ExecuteNonQueryAsync(cancellation);
            await transaction.CommitAsync(cancellation);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            throw new PostgresSetupException($"PostgreSQL at {builder.Host}:{builder.Port} (database {builder.Database ?? builder.Username}): {Reason(e)}", e);
        }
    }

    static string Reason(Exception e) => e switch
    {
        PostgresException pg => pg.MessageText,
        NpgsqlException { InnerException: { } inner } => $"{e.Message} ({inner.Message})",
        _ => e.Message,
    };

    static string ReadSchema()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Cluster.Silo.Postgres.orleans-postgresql.sql")
            ?? throw new InvalidOperationException("the PostgreSQL schema is not embedded in Cluster.Silo");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
