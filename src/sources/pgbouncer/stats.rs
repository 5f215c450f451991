//! SHOW STATS_TOTALS: per-database totals since PgBouncer started, as
//! `pgbouncer_stats_totals_*_total{database}`. STATS_TOTALS (1.8+) rather than STATS:
//! the same totals without the averages PgBouncer would otherwise compute, as
//! pgbouncer_exporter 0.11 reads them (hence its `stats_totals` prefix). Times are
//! reported in microseconds and exported in seconds.

use tokio_postgres::SimpleQueryRow;

use crate::model::MetricFamily;
use crate::sources::sql_columns::{col, families_present, Column, Kind};
use crate::sources::PollError;

const MICROS: f64 = 1e-6;

const COLUMNS: [Column; 11] = [
    col(
        "query_count",
        "pgbouncer_stats_totals_queries_pooled",
        Kind::Counter,
        "SQL queries pooled by PgBouncer.",
    ),
    col(
        "query_time",
        "pgbouncer_stats_totals_queries_duration_seconds",
        Kind::Counter,
        "Seconds PgBouncer spent connected to PostgreSQL running queries.",
    )
    .scaled(MICROS),
    col(
        "wait_time",
        "pgbouncer_stats_totals_client_wait_seconds",
        Kind::Counter,
        "Seconds clients spent waiting for a server connection.",
    )
    .scaled(MICROS),
    col(
        "bytes_received",
        "pgbouncer_stats_totals_received_bytes",
        Kind::Counter,
        "Bytes of network traffic PgBouncer received from clients.",
    ),
    col(
        "bytes_sent",
        "pgbouncer_stats_totals_sent_bytes",
        Kind::Counter,
        "Bytes of network traffic PgBouncer sent to clients.",
    ),
    col(
        "xact_count",
        "pgbouncer_stats_totals_sql_transactions_pooled",
        Kind::Counter,
        "SQL transactions pooled by PgBouncer.",
    ),
    col(
        "xact_time",
        "pgbouncer_stats_totals_server_in_transaction_seconds",
        Kind::Counter,
        "Seconds PgBouncer spent connected to PostgreSQL in a transaction, idle in it or running queries.",
    )
    .scaled(MICROS),
    // 1.23+
    col(
        "server_assignment_count",
        "pgbouncer_stats_totals_server_assignments",
        Kind::Counter,
        "Times a server connection was assigned to a client.",
    ),
    // 1.24+: prepared statements.
    col(
        "client_parse_count",
        "pgbouncer_stats_totals_client_parses",
        Kind::Counter,
        "Prepared-statement Parse messages received from clients.",
    ),
    col(
        "server_parse_count",
        "pgbouncer_stats_totals_server_parses",
        Kind::Counter,
        "Prepared-statement Parse messages PgBouncer sent to PostgreSQL.",
    ),
    col(
        "bind_count",
        "pgbouncer_stats_totals_binds",
        Kind::Counter,
        "Prepared statements readied for execution with a Bind message.",
    ),
];

pub(super) fn families(rows: &[SimpleQueryRow]) -> Result<Vec<MetricFamily>, PollError> {
    families_present(rows, &["database"], &COLUMNS)
}
