//! SHOW DATABASES: each configured database entry's limits and state, as
//! `pgbouncer_databases_*{name,host,port,database,force_user,pool_mode}`: `name` is the
//! entry clients connect to, `database` the real database behind it.

use tokio_postgres::SimpleQueryRow;

use crate::model::MetricFamily;
use crate::sources::sql_columns::{col, families_present, Column, Kind};
use crate::sources::PollError;

const LABELS: [&str; 6] = [
    "name",
    "host",
    "port",
    "database",
    "force_user",
    "pool_mode",
];

const COLUMNS: [Column; 8] = [
    col(
        "pool_size",
        "pgbouncer_databases_pool_size",
        Kind::Gauge,
        "Most server connections a pool of this database may have.",
    ),
    col(
        "min_pool_size",
        "pgbouncer_databases_min_pool_size",
        Kind::Gauge,
        "Server connections PgBouncer keeps open in each pool of this database at least.",
    ),
    col(
        "reserve_pool",
        "pgbouncer_databases_reserve_pool",
        Kind::Gauge,
        "Extra server connections a pool of this database may open when clients wait.",
    ),
    // PgBouncer 1.24 renamed `reserve_pool` to `reserve_pool_size`; same metric.
    col(
        "reserve_pool_size",
        "pgbouncer_databases_reserve_pool",
        Kind::Gauge,
        "Extra server connections a pool of this database may open when clients wait.",
    ),
    col(
        "max_connections",
        "pgbouncer_databases_max_connections",
        Kind::Gauge,
        "Most server connections to this database across its pools (0: no limit).",
    ),
    col(
        "current_connections",
        "pgbouncer_databases_current_connections",
        Kind::Gauge,
        "Server connections to this database now.",
    ),
    col(
        "paused",
        "pgbouncer_databases_paused",
        Kind::Gauge,
        "Whether the database is paused (1) or not (0).",
    ),
    col(
        "disabled",
        "pgbouncer_databases_disabled",
        Kind::Gauge,
        "Whether the database is disabled (1) or not (0).",
    ),
];

pub(super) fn families(rows: &[SimpleQueryRow]) -> Result<Vec<MetricFamily>, PollError> {
    families_present(rows, &LABELS, &COLUMNS)
}
