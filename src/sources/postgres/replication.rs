//! Replication: whether this server is a replica and how far behind, each standby's lag
//! as seen from the primary, replication slots and the WAL receiver.

use crate::model::MetricFamily;
use crate::sources::PollError;

use super::columns::{col, families, Column, Kind};
use super::PostgresSource;

const PG13: u32 = 130_000;

const STATUS: &[Column] = &[
    col("is_replica", "pg_replication_is_replica", Kind::Gauge, "Whether the server is a replica (in recovery): 1 or 0."),
    col("lag_seconds", "pg_replication_lag_seconds", Kind::Gauge, "Replication lag behind the primary, in seconds; 0 on a primary or a replica that has replayed everything it received."),
];

const STANDBYS: &[Column] = &[
    col(
        "lsn_diff",
        "pg_stat_replication_pg_wal_lsn_diff",
        Kind::Gauge,
        "Bytes of WAL the standby has yet to replay.",
    ),
    col(
        "write_lag",
        "pg_stat_replication_write_lag_seconds",
        Kind::Gauge,
        "Time until the standby wrote recent WAL, in seconds.",
    ),
    col(
        "flush_lag",
        "pg_stat_replication_flush_lag_seconds",
        Kind::Gauge,
        "Time until the standby flushed recent WAL, in seconds.",
    ),
    col(
        "replay_lag",
        "pg_stat_replication_replay_lag_seconds",
        Kind::Gauge,
        "Time until the standby replayed recent WAL, in seconds.",
    ),
];

const SLOTS: &[Column] = &[
    col("active", "pg_replication_slot_slot_is_active", Kind::Gauge, "Whether the replication slot is in use: 1 or 0."),
    col("retained_bytes", "pg_replication_slot_retained_wal_bytes", Kind::Gauge, "WAL retained for the slot (current WAL position minus its restart_lsn), in bytes."),
    col("safe_wal_size", "pg_replication_slot_safe_wal_size_bytes", Kind::Gauge, "WAL that can still be written before the slot is in danger of losing required WAL, in bytes (PostgreSQL 13+).").since(PG13),
];

const RECEIVER: &[Column] = &[
    col(
        "streaming",
        "pg_stat_wal_receiver_streaming",
        Kind::Gauge,
        "Whether the WAL receiver is streaming from the primary: 1 or 0 (replicas only).",
    ),
    col(
        "last_msg_age",
        "pg_stat_wal_receiver_last_message_age_seconds",
        Kind::Gauge,
        "Time since the last message from the primary, in seconds.",
    ),
];

pub(super) async fn collect(
    source: &mut PostgresSource,
    out: &mut Vec<MetricFamily>,
) -> Result<(), PollError> {
    let version = source.version_num();
    let rows = source
        .query(
            "SELECT pg_is_in_recovery()::int AS is_replica, \
             CASE WHEN NOT pg_is_in_recovery() \
                    OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
                  ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())) \
             END AS lag_seconds",
        )
        .await?;
    out.extend(families(&rows, &[], STATUS, version)?);

    // The WAL position to measure from: on a replica the last replayed one, since
    // pg_current_wal_lsn() errors during recovery.
    const CURRENT_LSN: &str =
        "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END";
    let rows = source
        .query(&format!(
            "SELECT COALESCE(application_name, '') AS application_name, \
             COALESCE(host(client_addr), '') AS client_addr, \
             COALESCE(state, '') AS state, COALESCE(sync_state, '') AS sync_state, \
             pg_wal_lsn_diff({CURRENT_LSN}, replay_lsn) AS lsn_diff, \
             EXTRACT(EPOCH FROM write_lag) AS write_lag, \
             EXTRACT(EPOCH FROM flush_lag) AS flush_lag, \
             EXTRACT(EPOCH FROM replay_lag) AS replay_lag \
             FROM pg_stat_replication"
        ))
        .await?;
    out.extend(families(
        &rows,
        &["application_name", "client_addr", "state", "sync_state"],
        STANDBYS,
        version,
    )?);

    let safe_wal = if version >= PG13 {
        ", safe_wal_size"
    } else {
        ""
    };
    let rows = source
        .query(&format!(
            "SELECT slot_name, slot_type, COALESCE(database, '') AS database, active::int AS active, \
             pg_wal_lsn_diff({CURRENT_LSN}, restart_lsn) AS retained_bytes{safe_wal} \
             FROM pg_replication_slots"
        ))
        .await?;
    out.extend(families(
        &rows,
        &["slot_name", "slot_type", "database"],
        SLOTS,
        version,
    )?);

    let rows = source
        .query(
            "SELECT (status = 'streaming')::int AS streaming, \
             EXTRACT(EPOCH FROM now() - last_msg_receipt_time) AS last_msg_age \
             FROM pg_stat_wal_receiver",
        )
        .await?;
    out.extend(families(&rows, &[], RECEIVER, version)?);
    Ok(())
}
