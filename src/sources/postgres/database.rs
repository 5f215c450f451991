//! `pg_stat_database_*` (every column of the server's version), database sizes,
//! connection limits and transaction-ID wraparound age.
//!
//! Counter names follow postgres_exporter's (no `_total`) so its dashboards keep
//! working; times stay in milliseconds as it reports them.

use crate::model::MetricFamily;
use crate::sources::PollError;

use super::columns::{col, families, select_list, Column, Kind};
use super::PostgresSource;

const PG14: u32 = 140_000;
const PG12: u32 = 120_000;

const STAT_DATABASE: &[Column] = &[
    col("numbackends", "pg_stat_database_numbackends", Kind::Gauge, "Number of backends currently connected to this database."),
    col("xact_commit", "pg_stat_database_xact_commit", Kind::BareCounter, "Number of transactions in this database that have been committed."),
    col("xact_rollback", "pg_stat_database_xact_rollback", Kind::BareCounter, "Number of transactions in this database that have been rolled back."),
    col("blks_read", "pg_stat_database_blks_read", Kind::BareCounter, "Number of disk blocks read in this database."),
    col("blks_hit", "pg_stat_database_blks_hit", Kind::BareCounter, "Number of times disk blocks were found already in the buffer cache."),
    col("tup_returned", "pg_stat_database_tup_returned", Kind::BareCounter, "Number of rows returned by queries in this database."),
    col("tup_fetched", "pg_stat_database_tup_fetched", Kind::BareCounter, "Number of rows fetched by queries in this database."),
    col("tup_inserted", "pg_stat_database_tup_inserted", Kind::BareCounter, "Number of rows inserted by queries in this database."),
    col("tup_updated", "pg_stat_database_tup_updated", Kind::BareCounter, "Number of rows updated by queries in this database."),
    col("tup_deleted", "pg_stat_database_tup_deleted", Kind::BareCounter, "Number of rows deleted by queries in this database."),
    col("conflicts", "pg_stat_database_conflicts", Kind::BareCounter, "Number of queries canceled due to conflicts with recovery in this database."),
    col("temp_files", "pg_stat_database_temp_files", Kind::BareCounter, "Number of temporary files created by queries in this database."),
    col("temp_bytes", "pg_stat_database_temp_bytes", Kind::BareCounter, "Total amount of data written to temporary files by queries in this database."),
    col("deadlocks", "pg_stat_database_deadlocks", Kind::BareCounter, "Number of deadlocks detected in this database."),
    col("checksum_failures", "pg_stat_database_checksum_failures", Kind::BareCounter, "Number of data page checksum failures detected in this database; NaN when checksums are off.").since(PG12).null_as_nan(),
    col("checksum_last_failure", "pg_stat_database_checksum_last_failure", Kind::Gauge, "Time of the last data page checksum failure, in seconds since the Unix epoch; NaN if none.").since(PG12).null_as_nan(),
    col("blk_read_time", "pg_stat_database_blk_read_time", Kind::BareCounter, "Time spent reading data file blocks by backends in this database, in milliseconds."),
    col("blk_write_time", "pg_stat_database_blk_write_time", Kind::BareCounter, "Time spent writing data file blocks by backends in this database, in milliseconds."),
    col("session_time", "pg_stat_database_session_time", Kind::BareCounter, "Time spent by database sessions in this database, in milliseconds.").since(PG14),
    col("active_time", "pg_stat_database_active_time", Kind::BareCounter, "Time spent executing SQL statements in this database, in milliseconds.").since(PG14),
    col("idle_in_transaction_time", "pg_stat_database_idle_in_transaction_time", Kind::BareCounter, "Time spent idling while in a transaction in this database, in milliseconds.").since(PG14),
    col("sessions", "pg_stat_database_sessions", Kind::BareCounter, "Total number of sessions established to this database.").since(PG14),
    col("sessions_abandoned", "pg_stat_database_sessions_abandoned", Kind::BareCounter, "Number of sessions to this database that were terminated because connection to the client was lost.").since(PG14),
    col("sessions_fatal", "pg_stat_database_sessions_fatal", Kind::BareCounter, "Number of sessions to this database that were terminated by fatal errors.").since(PG14),
    col("sessions_killed", "pg_stat_database_sessions_killed", Kind::BareCounter, "Number of sessions to this database that were terminated by operator intervention.").since(PG14),
    col("stats_reset", "pg_stat_database_stats_reset", Kind::Gauge, "Time at which these statistics were last reset, in seconds since the Unix epoch; NaN if never.").null_as_nan(),
];

const CONFLICTS: &[Column] = &[
    col(
        "confl_tablespace",
        "pg_stat_database_conflicts_confl_tablespace",
        Kind::BareCounter,
        "Queries canceled due to dropped tablespaces.",
    ),
    col(
        "confl_lock",
        "pg_stat_database_conflicts_confl_lock",
        Kind::BareCounter,
        "Queries canceled due to lock timeouts.",
    ),
    col(
        "confl_snapshot",
        "pg_stat_database_conflicts_confl_snapshot",
        Kind::BareCounter,
        "Queries canceled due to old snapshots.",
    ),
    col(
        "confl_bufferpin",
        "pg_stat_database_conflicts_confl_bufferpin",
        Kind::BareCounter,
        "Queries canceled due to pinned buffers.",
    ),
    col(
        "confl_deadlock",
        "pg_stat_database_conflicts_confl_deadlock",
        Kind::BareCounter,
        "Queries canceled due to deadlocks.",
    ),
];

const DATABASE: &[Column] = &[
    col("size_bytes", "pg_database_size_bytes", Kind::Gauge, "Disk space used by the database, in bytes."),
    col("connection_limit", "pg_database_connection_limit", Kind::Gauge, "Connection limit set for the database; -1 means no limit."),
    col("frozen_xid_age", "pg_database_frozen_xid_age", Kind::Gauge, "Age of the database's oldest unfrozen transaction ID (datfrozenxid); wraparound is forced at 2^31."),
    col("min_mxid_age", "pg_database_min_multixact_age", Kind::Gauge, "Age of the database's oldest multixact ID (datminmxid)."),
];

pub(super) async fn collect(
    source: &mut PostgresSource,
    out: &mut Vec<MetricFamily>,
) -> Result<(), PollError> {
    let version = source.version_num();
    // Timestamps as epoch seconds; the rows without a database (shared objects, 12+)
    // are left out, as postgres_exporter does.
    let stat_columns = select_list(STAT_DATABASE, version)
        .replace(
            "stats_reset",
            "EXTRACT(EPOCH FROM stats_reset) AS stats_reset",
        )
        .replace(
            "checksum_last_failure",
            "EXTRACT(EPOCH FROM checksum_last_failure) AS checksum_last_failure",
        );
    let rows = source
        .query(&format!(
            "SELECT datid::text AS datid, datname, {stat_columns} \
             FROM pg_stat_database WHERE datname IS NOT NULL"
        ))
        .await?;
    out.extend(families(
        &rows,
        &["datid", "datname"],
        STAT_DATABASE,
        version,
    )?);

    let rows = source
        .query(&format!(
            "SELECT datid::text AS datid, datname, {} FROM pg_stat_database_conflicts",
            select_list(CONFLICTS, version)
        ))
        .await?;
    out.extend(families(&rows, &["datid", "datname"], CONFLICTS, version)?);

    // pg_database_size needs CONNECT on the database (or pg_read_all_stats, part of
    // pg_monitor); databases that refuse connections are skipped.
    let rows = source
        .query(
            "SELECT datname, \
             CASE WHEN datallowconn AND has_database_privilege(oid, 'CONNECT') \
                  THEN pg_database_size(oid) END AS size_bytes, \
             datconnlimit AS connection_limit, \
             age(datfrozenxid) AS frozen_xid_age, \
             mxid_age(datminmxid) AS min_mxid_age \
             FROM pg_database",
        )
        .await?;
    out.extend(families(&rows, &["datname"], DATABASE, version)?);
    Ok(())
}
