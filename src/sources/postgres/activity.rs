//! Connections by database × state (zero-filled), transaction ages, backends waiting
//! on locks, and connection use against `max_connections`.

use crate::model::MetricFamily;
use crate::sources::{ErrorReason, PollError};

use super::columns::{col, families, number, zero_fill, Column, Kind};
use super::PostgresSource;

/// The states of pg_stat_activity.state, as postgres_exporter zero-fills them.
const STATES: [&str; 6] = [
    "active",
    "idle",
    "idle in transaction",
    "idle in transaction (aborted)",
    "fastpath function call",
    "disabled",
];

const BY_STATE: &[Column] = &[
    col(
        "count",
        "pg_stat_activity_count",
        Kind::Gauge,
        "Number of connections in this state.",
    ),
    col(
        "max_tx_duration",
        "pg_stat_activity_max_tx_duration",
        Kind::Gauge,
        "Longest running transaction in this state, in seconds.",
    ),
];

pub(super) async fn collect(
    source: &mut PostgresSource,
    out: &mut Vec<MetricFamily>,
) -> Result<(), PollError> {
    let version = source.version_num();
    let rows = source
        .query(
            "SELECT datname, state, count(*) AS count, \
             COALESCE(max(EXTRACT(EPOCH FROM now() - xact_start)), 0) AS max_tx_duration \
             FROM pg_stat_activity \
             WHERE datname IS NOT NULL AND state IS NOT NULL AND backend_type = 'client backend' \
             GROUP BY datname, state",
        )
        .await?;
    let mut by_state = families(&rows, &["datname", "state"], BY_STATE, version)?;
    let databases: Vec<String> = source
        .first_column("SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn")
        .await?;
    for family in &mut by_state {
        zero_fill(family, ("datname", &databases), ("state", &STATES));
    }
    out.extend(by_state);

    let rows = source
        .query(
            "SELECT \
             (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS connections, \
             current_setting('max_connections')::float AS max_connections, \
             current_setting('superuser_reserved_connections')::float AS reserved, \
             (SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock') AS waiting, \
             (SELECT COALESCE(max(EXTRACT(EPOCH FROM now() - xact_start)), 0) \
                FROM pg_stat_activity WHERE xact_start IS NOT NULL AND backend_type = 'client backend') AS oldest_xact, \
             (SELECT COALESCE(max(EXTRACT(EPOCH FROM now() - state_change)), 0) \
                FROM pg_stat_activity WHERE state IN ('idle in transaction', 'idle in transaction (aborted)')) AS oldest_idle_xact",
        )
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| PollError::new(ErrorReason::Protocol, "activity summary returned no row"))?;
    let value = |c: &str| -> Result<f64, PollError> { Ok(number(row, c)?.unwrap_or(0.0)) };
    let singles = [
        ("pg_stat_activity_connections", "Client connections to the server, in any state.", value("connections")?),
        ("pg_stat_activity_max_connections", "The server's max_connections setting.", value("max_connections")?),
        (
            "pg_stat_activity_available_connections",
            "Connections still available to non-superusers: max_connections minus superuser_reserved_connections minus current connections.",
            value("max_connections")? - value("reserved")? - value("connections")?,
        ),
        ("pg_stat_activity_waiting_on_locks", "Backends waiting for a lock.", value("waiting")?),
        (
            "pg_stat_activity_oldest_transaction_seconds",
            "Age of the oldest open transaction of a client backend, in seconds.",
            value("oldest_xact")?,
        ),
        (
            "pg_stat_activity_oldest_idle_in_transaction_seconds",
            "Time the longest idle-in-transaction session has been idle, in seconds.",
            value("oldest_idle_xact")?,
        ),
    ];
    for (name, help, v) in singles {
        out.push(MetricFamily::gauge(name, help).with_value(v));
    }
    Ok(())
}
