-- Cluster's PostgreSQL schema for Orleans 10.4.2's ADO.NET clustering, grain persistence and reminders.
-- The Orleans packages ship no SQL; this file matches the queries, parameters and result columns that
-- Orleans.Clustering.AdoNet, Orleans.Persistence.AdoNet and Orleans.Reminders.AdoNet 10.4.2 use (the upstream main-branch script adds a
-- MetadataJson column those versions neither write nor read). The silo applies it in one transaction under an
-- advisory lock, so silos that start together do not race, and a failure leaves nothing half-created.
-- Unquoted names fold to lower case; Orleans reads columns by name, which Npgsql matches case-insensitively.
-- Every parameter carries a cast: Orleans passes nulls without a type, which PostgreSQL could not infer.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey varchar(64) NOT NULL PRIMARY KEY,
    QueryText text NOT NULL
);

-- One row per cluster (Orleans' "deployment"): the version every membership change bumps.
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId varchar(150) NOT NULL PRIMARY KEY,
    Timestamp timestamptz NOT NULL DEFAULT now(),
    Version integer NOT NULL DEFAULT 0
);

-- One row per silo incarnation (address, port, generation).
CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId varchar(150) NOT NULL REFERENCES OrleansMembershipVersionTable (DeploymentId),
    Address varchar(45) NOT NULL,
    Port integer NOT NULL,
    Generation integer NOT NULL,
    SiloName varchar(150) NOT NULL,
    HostName varchar(150) NOT NULL,
    Status integer NOT NULL,
    ProxyPort integer NULL,
    SuspectTimes varchar(8000) NULL,
    StartTime timestamptz NOT NULL,
    IAmAliveTime timestamptz NOT NULL,
    PRIMARY KEY (DeploymentId, Address, Port, Generation)
);

-- Grain state, one row per (service, grain type, grain id); Version is the ETag.
CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash integer NOT NULL,
    GrainIdN0 bigint NOT NULL,
    GrainIdN1 bigint NOT NULL,
    GrainTypeHash integer NOT NULL,
    GrainTypeString varchar(512) NOT NULL,
    GrainIdExtensionString varchar(512) NULL,
    ServiceId varchar(150) NOT NULL,
    PayloadBinary bytea NULL,
    ModifiedOn timestamptz NOT NULL DEFAULT now(),
    Version integer NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS OrleansStorage_Identity ON OrleansStorage
    (ServiceId, GrainTypeString, GrainIdN0, GrainIdN1, coalesce(GrainIdExtensionString, ''));
CREATE INDEX IF NOT EXISTS OrleansStorage_Hashes ON OrleansStorage (GrainIdHash, GrainTypeHash);

-- Reminders, one row per (service, grain, name). GrainHash is the grain's ring position as a signed int, so each
-- silo reads the rows of its range; Period is in milliseconds; Version is the ETag.
CREATE TABLE IF NOT EXISTS OrleansRemindersTable
(
    ServiceId varchar(150) NOT NULL,
    GrainId varchar(150) NOT NULL,
    ReminderName varchar(150) NOT NULL,
    StartTime timestamptz NOT NULL,
    Period bigint NOT NULL,
    GrainHash integer NOT NULL,
    Version integer NOT NULL,
    PRIMARY KEY (ServiceId, GrainId, ReminderName)
);
CREATE INDEX IF NOT EXISTS OrleansReminders_Hash ON OrleansRemindersTable (ServiceId, GrainHash);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- One row that says whether the version row was created (Orleans reads a single value).
('InsertMembershipVersionKey', '
WITH inserted AS (
    INSERT INTO OrleansMembershipVersionTable (DeploymentId) VALUES (@DeploymentId::varchar)
    ON CONFLICT (DeploymentId) DO NOTHING
    RETURNING 1)
SELECT count(*) FROM inserted;'),

-- Insert a silo''s row and bump the version, both or neither: the row must be new and the version unchanged.
('InsertMembershipKey', '
WITH bumped AS (
    UPDATE OrleansMembershipVersionTable SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId = @DeploymentId::varchar AND Version = @Version::integer
      AND NOT EXISTS (SELECT 1 FROM OrleansMembershipTable
                      WHERE DeploymentId = @DeploymentId::varchar AND Address = @Address::varchar
                        AND Port = @Port::integer AND Generation = @Generation::integer)
    RETURNING 1),
inserted AS (
    INSERT INTO OrleansMembershipTable (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
    SELECT @DeploymentId::varchar, @Address::varchar, @Port::integer, @Generation::integer, @SiloName::varchar, @HostName::varchar,
           @Status::integer, @ProxyPort::integer, @StartTime::timestamptz, @IAmAliveTime::timestamptz
    FROM bumped
    ON CONFLICT DO NOTHING
    RETURNING 1)
SELECT count(*) FROM inserted;'),

-- Update a silo''s row and bump the version, both or neither.
('UpdateMembershipKey', '
WITH bumped AS (
    UPDATE OrleansMembershipVersionTable SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId = @DeploymentId::varchar AND Version = @Version::integer
      AND EXISTS (SELECT 1 FROM OrleansMembershipTable
                  WHERE DeploymentId = @DeploymentId::varchar AND Address = @Address::varchar
                    AND Port = @Port::integer AND Generation = @Generation::integer)
    RETURNING 1),
updated AS (
    UPDATE OrleansMembershipTable
    SET Status = @Status::integer, SuspectTimes = @SuspectTimes::varchar, IAmAliveTime = @IAmAliveTime::timestamptz
    WHERE DeploymentId = @DeploymentId::varchar AND Address = @Address::varchar
      AND Port = @Port::integer AND Generation = @Generation::integer
      AND EXISTS (SELECT 1 FROM bumped)
    RETURNING 1)
SELECT count(*) FROM updated;'),

('UpdateIAmAlivetimeKey', '
UPDATE OrleansMembershipTable SET IAmAliveTime = @IAmAliveTime::timestamptz
WHERE DeploymentId = @DeploymentId::varchar AND Address = @Address::varchar
  AND Port = @Port::integer AND Generation = @Generation::integer;'),

-- The version row always comes back, with the silo''s row joined when it exists.
('MembershipReadRowKey', '
SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
       m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
FROM OrleansMembershipVersionTable v
LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
     AND m.Address = @Address::varchar AND m.Port = @Port::integer AND m.Generation = @Generation::integer
WHERE v.DeploymentId = @DeploymentId::varchar;'),

('MembershipReadAllKey', '
SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
       m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
FROM OrleansMembershipVersionTable v
LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
WHERE v.DeploymentId = @DeploymentId::varchar;'),

('GatewaysQueryKey', '
SELECT Address, ProxyPort, Generation FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId::varchar AND Status = @Status::integer AND ProxyPort > 0;'),

('DeleteMembershipTableEntriesKey', '
DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId::varchar;
DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId::varchar;'),

-- Entries of silos that stopped reporting before the cutoff, except active ones.
('CleanupDefunctSiloEntriesKey', '
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId::varchar AND IAmAliveTime < @IAmAliveTime::timestamptz AND Status <> 3;'),

('ReadFromStorageKey', '
SELECT PayloadBinary, Version FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash::integer AND GrainTypeHash = @GrainTypeHash::integer
  AND ServiceId = @ServiceId::varchar AND GrainTypeString = @GrainTypeString::varchar
  AND GrainIdN0 = @GrainIdN0::bigint AND GrainIdN1 = @GrainIdN1::bigint
  AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString::varchar;'),

-- Returns the new version, or no row when the caller''s version is stale (Orleans then raises InconsistentStateException).
('WriteToStorageKey', '
WITH updated AS (
    UPDATE OrleansStorage SET PayloadBinary = @PayloadBinary::bytea, ModifiedOn = now(), Version = Version + 1
    WHERE GrainIdHash = @GrainIdHash::integer AND GrainTypeHash = @GrainTypeHash::integer
      AND ServiceId = @ServiceId::varchar AND GrainTypeString = @GrainTypeString::varchar
      AND GrainIdN0 = @GrainIdN0::bigint AND GrainIdN1 = @GrainIdN1::bigint
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString::varchar
      AND Version = @GrainStateVersion::integer
    RETURNING Version),
inserted AS (
    INSERT INTO OrleansStorage (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString, ServiceId, PayloadBinary, Version)
    SELECT @GrainIdHash::integer, @GrainIdN0::bigint, @GrainIdN1::bigint, @GrainTypeHash::integer, @GrainTypeString::varchar,
           @GrainIdExtensionString::varchar, @ServiceId::varchar, @PayloadBinary::bytea, 1
    WHERE @GrainStateVersion::integer IS NULL
    ON CONFLICT DO NOTHING
    RETURNING Version)
SELECT Version AS NewGrainStateVersion FROM updated
UNION ALL
SELECT Version FROM inserted;'),

('ClearStorageKey', '
UPDATE OrleansStorage SET PayloadBinary = NULL, ModifiedOn = now(), Version = Version + 1
WHERE GrainIdHash = @GrainIdHash::integer AND GrainTypeHash = @GrainTypeHash::integer
  AND ServiceId = @ServiceId::varchar AND GrainTypeString = @GrainTypeString::varchar
  AND GrainIdN0 = @GrainIdN0::bigint AND GrainIdN1 = @GrainIdN1::bigint
  AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString::varchar
  AND Version = @GrainStateVersion::integer
RETURNING Version;'),

('DeleteStorageKey', '
DELETE FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash::integer AND GrainTypeHash = @GrainTypeHash::integer
  AND ServiceId = @ServiceId::varchar AND GrainTypeString = @GrainTypeString::varchar
  AND GrainIdN0 = @GrainIdN0::bigint AND GrainIdN1 = @GrainIdN1::bigint
  AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString::varchar
  AND Version = @GrainStateVersion::integer
RETURNING Version + 1;'),

-- Creates or replaces a reminder; returns its new version (0 when new).
('UpsertReminderRowKey', '
INSERT INTO OrleansRemindersTable (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES (@ServiceId::varchar, @GrainId::varchar, @ReminderName::varchar, @StartTime::timestamptz, @Period::bigint, @GrainHash::integer, 0)
ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE
    SET StartTime = EXCLUDED.StartTime, Period = EXCLUDED.Period, GrainHash = EXCLUDED.GrainHash,
        Version = OrleansRemindersTable.Version + 1
RETURNING Version;'),

('ReadReminderRowsKey', '
SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId::varchar AND GrainId = @GrainId::varchar;'),

('ReadReminderRowKey', '
SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId::varchar AND GrainId = @GrainId::varchar AND ReminderName = @ReminderName::varchar;'),

-- A silo''s range of the ring (BeginHash, EndHash] when it does not wrap in signed order ...
('ReadRangeRows1Key', '
SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId::varchar AND GrainHash > @BeginHash::integer AND GrainHash <= @EndHash::integer;'),

-- ... and when it does (or is the whole ring, BeginHash = EndHash).
('ReadRangeRows2Key', '
SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId::varchar AND (GrainHash > @BeginHash::integer OR GrainHash <= @EndHash::integer);'),

-- One value, true when the row of that version was deleted.
('DeleteReminderRowKey', '
WITH deleted AS (
    DELETE FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId::varchar AND GrainId = @GrainId::varchar AND ReminderName = @ReminderName::varchar
      AND Version = @Version::integer
    RETURNING 1)
SELECT count(*) > 0 FROM deleted;'),

('DeleteReminderRowsKey', '
DELETE FROM OrleansRemindersTable WHERE ServiceId = @ServiceId::varchar;')

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
