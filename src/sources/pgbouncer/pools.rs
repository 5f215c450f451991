//! SHOW POOLS: one row per (database, user) pool, its clients and server connections by
//! state, as `pgbouncer_pools_*{database,user}`.

use tokio_postgres::SimpleQueryRow;

use crate::model::MetricFamily;
use crate::sources::sql_columns::{col, families_present, has_column, number, row_labels};
use crate::sources::sql_columns::{Column, Kind};
use crate::sources::PollError;

const LABELS: [&str; 2] = ["database", "user"];

const COLUMNS: [Column; 11] = [
    col(
        "cl_active",
        "pgbouncer_pools_client_active_connections",
        Kind::Gauge,
        "Client connections paired with a server connection or idle with nothing to run.",
    ),
    col(
        "cl_waiting",
        "pgbouncer_pools_client_waiting_connections",
        Kind::Gauge,
        "Client connections that sent a query and wait for a server connection.",
    ),
    col(
        "cl_active_cancel_req",
        "pgbouncer_pools_client_active_cancel_connections",
        Kind::Gauge,
        "Client connections whose cancel request went to the server and await its answer.",
    ),
    col(
        "cl_waiting_cancel_req",
        "pgbouncer_pools_client_waiting_cancel_connections",
        Kind::Gauge,
        "Client connections whose cancel request has not been forwarded to the server yet.",
    ),
    col(
        "sv_active",
        "pgbouncer_pools_server_active_connections",
        Kind::Gauge,
        "Server connections paired with a client connection.",
    ),
    col(
        "sv_active_cancel",
        "pgbouncer_pools_server_active_cancel_connections",
        Kind::Gauge,
        "Server connections forwarding a cancel request.",
    ),
    col(
        "sv_being_canceled",
        "pgbouncer_pools_server_being_canceled_connections",
        Kind::Gauge,
        "Server connections that wait for in-flight cancel requests before becoming idle.",
    ),
    col(
        "sv_idle",
        "pgbouncer_pools_server_idle_connections",
        Kind::Gauge,
        "Server connections idle and ready for a client query.",
    ),
    col(
        "sv_used",
        "pgbouncer_pools_server_used_connections",
        Kind::Gauge,
        "Server connections idle for longer than server_check_delay, to be checked before reuse.",
    ),
    col(
        "sv_tested",
        "pgbouncer_pools_server_testing_connections",
        Kind::Gauge,
        "Server connections running server_reset_query or server_check_query.",
    ),
    col(
        "sv_login",
        "pgbouncer_pools_server_login_connections",
        Kind::Gauge,
        "Server connections logging in to PostgreSQL.",
    ),
];

pub(super) fn families(rows: &[SimpleQueryRow]) -> Result<Vec<MetricFamily>, PollError> {
    let mut out = families_present(rows, &LABELS, &COLUMNS)?;
    let mut maxwait = MetricFamily::gauge(
        "pgbouncer_pools_client_maxwait_seconds",
        "How long the oldest waiting client of the pool has waited, in seconds.",
    );
    for row in rows {
        if !has_column(row, "maxwait") {
            break;
        }
        // The console splits the wait into whole seconds and the microseconds beyond
        // them (`maxwait_us`, 1.8+); together they give sub-second waits.
        let Some(seconds) = number(row, "maxwait")? else {
            continue;
        };
        let micros = if has_column(row, "maxwait_us") {
            number(row, "maxwait_us")?.unwrap_or(0.0)
        } else {
            0.0
        };
        let present: Vec<&str> = LABELS
            .iter()
            .copied()
            .filter(|c| has_column(row, c))
            .collect();
        maxwait.push(row_labels(row, &present)?, seconds + micros / 1e6);
    }
    if !maxwait.samples.is_empty() {
        out.push(maxwait);
    }
    Ok(out)
}
