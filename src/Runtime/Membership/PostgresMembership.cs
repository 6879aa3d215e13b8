using Npgsql;
using NpgsqlTypes;

namespace Cluster.Runtime.Membership;

/// <summary>Membership and directory in PostgreSQL, for real clusters. Heartbeat ages use the database's
/// clock (now()), so silos' clocks need not agree. The schema is created on start.</summary>
public sealed class PostgresMembership : IClusterMembership, IAsyncDisposable
{
    readonly NpgsqlDataSource _db;
    readonly string _clusterId;

    PostgresMembership(NpgsqlDataSource db, string clusterId) => (_db, _clusterId) = (db, clusterId);

    public static async Task<PostgresMembership> OpenAsync(string connectionString, string clusterId, CancellationToken cancellation)
    {
        var db = NpgsqlDataSource.Create(connectionString);
        try
        {
            await using var connection = await db.OpenConnectionAsync(cancellation).ConfigureAwait(false);
            await using var tx = await connection.BeginTransactionAsync(cancellation).ConfigureAwait(false);
            // Silos starting together would race on CREATE TABLE IF NOT EXISTS; one lock serializes them.
            await Execute(connection, "SELECT pg_advisory_xact_lock(7340213)", cancellation).ConfigureAwait(false);
            await Execute(connection, Schema, cancellation).ConfigureAwait(false);
            await tx.CommitAsync(cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException)
        {
            await db.DisposeAsync().ConfigureAwait(false);
            throw new SiloUnavailableException($"PostgreSQL membership: cannot open the database ({e.Message})", e);
        }
        return new PostgresMembership(db, clusterId);
    }

    const string Schema = """
        CREATE TABLE IF NOT EXISTS cluster_silos (
            cluster_id text NOT NULL,
            address text NOT NULL,
            name text NOT NULL,
            gateway text NOT NULL,
            devices text[] NOT NULL,
            status text NOT NULL,
            last_heartbeat timestamptz NOT NULL,
            PRIMARY KEY (cluster_id, address));
        CREATE TABLE IF NOT EXISTS cluster_grains (
            cluster_id text NOT NULL,
            grain_type text NOT NULL,
            grain_key text NOT NULL,
            silo text NOT NULL,
            device text,
            PRIMARY KEY (cluster_id, grain_type, grain_key));
        ALTER TABLE cluster_silos ADD COLUMN IF NOT EXISTS bulk_port integer NOT NULL DEFAULT 0;
        CREATE UNIQUE INDEX IF NOT EXISTS cluster_grains_device ON cluster_grains (cluster_id, silo, device) WHERE device IS NOT NULL;
        CREATE INDEX IF NOT EXISTS cluster_grains_silo ON cluster_grains (cluster_id, silo);
        """;

    static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken cancellation)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
    }

    NpgsqlCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = _db.CreateCommand(sql);
        command.Parameters.AddWithValue("cluster", _clusterId);
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    public async Task JoinAsync(SiloEntry self, CancellationToken cancellation)
    {
        await using var command = Command("""
            INSERT INTO cluster_silos (cluster_id, address, name, gateway, devices, status, last_heartbeat, bulk_port)
            VALUES (@cluster, @address, @name, @gateway, @devices, 'Active', now(), @bulk)
            ON CONFLICT (cluster_id, address) DO UPDATE SET status = 'Active', last_heartbeat = now()
            """, ("address", self.Address.ToString()), ("name", self.Name), ("gateway", self.Gateway), ("devices", self.Devices.ToArray()), ("bulk", self.BulkPort));
        await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
    }

    public async Task<bool> HeartbeatAsync(SiloAddress self, CancellationToken cancellation)
    {
        await using var command = Command(
            "UPDATE cluster_silos SET last_heartbeat = now() WHERE cluster_id = @cluster AND address = @address AND status = 'Active'",
            ("address", self.ToString()));
        return await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false) == 1;
    }

    public async Task LeaveAsync(SiloAddress self, CancellationToken cancellation)
    {
        await using var command = Command("""
            UPDATE cluster_silos SET status = 'Left' WHERE cluster_id = @cluster AND address = @address;
            DELETE FROM cluster_grains WHERE cluster_id = @cluster AND silo = @address;
            """, ("address", self.ToString()));
        await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<SiloEntry>> ReadSilosAsync(CancellationToken cancellation)
    {
        await using var command = Command("SELECT address, name, gateway, devices, status, last_heartbeat, bulk_port FROM cluster_silos WHERE cluster_id = @cluster");
        await using var reader = await command.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
        var silos = new List<SiloEntry>();
        while (await reader.ReadAsync(cancellation).ConfigureAwait(false))
            silos.Add(new SiloEntry(
                SiloAddress.Parse(reader.GetString(0)), reader.GetString(1), reader.GetString(2),
                reader.GetFieldValue<string[]>(3), Enum.Parse<SiloStatus>(reader.GetString(4)),
                reader.GetFieldValue<DateTimeOffset>(5), reader.GetInt32(6)));
        return silos;
    }

    public async Task<IReadOnlyList<SiloAddress>> DeclareDeadAsync(TimeSpan missedFor, CancellationToken cancellation)
    {
        await using var command = Command("""
            WITH dead AS (
                UPDATE cluster_silos SET status = 'Dead'
                WHERE cluster_id = @cluster AND status = 'Active' AND last_heartbeat < now() - @missed
                RETURNING address),
            dropped AS (
                DELETE FROM cluster_grains g USING dead WHERE g.cluster_id = @cluster AND g.silo = dead.address)
            SELECT address FROM dead
            """, ("missed", missedFor));
        await using var reader = await command.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
        var dead = new List<SiloAddress>();
        while (await reader.ReadAsync(cancellation).ConfigureAwait(false)) dead.Add(SiloAddress.Parse(reader.GetString(0)));
        return dead;
    }

    public async Task<GrainLocation?> LookupAsync(GrainId grain, CancellationToken cancellation)
    {
        await using var command = Command("""
            SELECT g.silo, g.device FROM cluster_grains g
            JOIN cluster_silos s ON s.cluster_id = g.cluster_id AND s.address = g.silo AND s.status = 'Active'
            WHERE g.cluster_id = @cluster AND g.grain_type = @type AND g.grain_key = @key
            """, ("type", grain.Type), ("key", grain.Key));
        await using var reader = await command.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
        return await reader.ReadAsync(cancellation).ConfigureAwait(false)
            ? new GrainLocation(grain, SiloAddress.Parse(reader.GetString(0)), reader.IsDBNull(1) ? null : reader.GetString(1))
            : null;
    }

    public async Task<GrainLocation?> RegisterAsync(GrainLocation proposed, CancellationToken cancellation)
    {
        // An entry left by a silo that is no longer active is replaced; a live one wins. (Two statements:
        // in one, the INSERT's conflict check would not see the DELETE.)
        await using (var stale = Command("""
            DELETE FROM cluster_grains g
            WHERE g.cluster_id = @cluster AND g.grain_type = @type AND g.grain_key = @key
              AND NOT EXISTS (SELECT 1 FROM cluster_silos s WHERE s.cluster_id = g.cluster_id AND s.address = g.silo AND s.status = 'Active')
            """, ("type", proposed.Grain.Type), ("key", proposed.Grain.Key)))
            await stale.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
        await using var command = Command("""
            INSERT INTO cluster_grains (cluster_id, grain_type, grain_key, silo, device)
            SELECT @cluster, @type, @key, @silo, @device
            WHERE EXISTS (SELECT 1 FROM cluster_silos s WHERE s.cluster_id = @cluster AND s.address = @silo AND s.status = 'Active')
            ON CONFLICT (cluster_id, grain_type, grain_key) DO NOTHING
            """,
            ("type", proposed.Grain.Type), ("key", proposed.Grain.Key), ("silo", proposed.Silo.ToString()),
            ("device", proposed.Device));
        command.Parameters["device"].NpgsqlDbType = NpgsqlDbType.Text;
        try
        {
            if (await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false) == 1) return proposed;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            if (e.ConstraintName == "cluster_grains_device") return null;
        }
        return await LookupAsync(proposed.Grain, cancellation).ConfigureAwait(false);
    }

    public async Task UnregisterAsync(GrainLocation location, CancellationToken cancellation)
    {
        await using var command = Command(
            "DELETE FROM cluster_grains WHERE cluster_id = @cluster AND grain_type = @type AND grain_key = @key AND silo = @silo",
            ("type", location.Grain.Type), ("key", location.Grain.Key), ("silo", location.Silo.ToString()));
        await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<GrainLocation>> ListPinnedAsync(CancellationToken cancellation)
    {
        await using var command = Command(
            "SELECT grain_type, grain_key, silo, device FROM cluster_grains WHERE cluster_id = @cluster AND device IS NOT NULL");
        await using var reader = await command.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
        var pinned = new List<GrainLocation>();
        while (await reader.ReadAsync(cancellation).ConfigureAwait(false))
            pinned.Add(new GrainLocation(new GrainId(reader.GetString(0), reader.GetString(1)), SiloAddress.Parse(reader.GetString(2)), reader.GetString(3)));
        return pinned;
    }

    public ValueTask DisposeAsync() => _db.DisposeAsync();
}
