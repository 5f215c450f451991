//! `pg_locks_count{datname,mode}`, zero-filled for every database × lock mode.

use crate::model::MetricFamily;
use crate::sources::PollError;

use super::columns::{col, families, zero_fill, Column, Kind};
use super::PostgresSource;

const MODES: [&str; 9] = [
    "accesssharelock",
    "rowsharelock",
    "rowexclusivelock",
    "shareupdateexclusivelock",
    "sharelock",
    "sharerowexclusivelock",
    "exclusivelock",
    "accessexclusivelock",
    "sireadlock",
];

const LOCKS: &[Column] = &[col(
    "count",
    "pg_locks_count",
    Kind::Gauge,
    "Number of locks held or awaited, by database and mode.",
)];

pub(super) async fn collect(
    source: &mut PostgresSource,
    out: &mut Vec<MetricFamily>,
) -> Result<(), PollError> {
    let version = source.version_num();
    let rows = source
        .query(
            "SELECT d.datname, lower(l.mode) AS mode, count(*) AS count \
             FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
             GROUP BY d.datname, lower(l.mode)",
        )
        .await?;
    let mut locks = families(&rows, &["datname", "mode"], LOCKS, version)?;
    let databases: Vec<String> = source
        .first_column("SELECT datname FROM pg_database")
        .await?;
    for family in &mut locks {
        zero_fill(family, ("datname", &databases), ("mode", &MODES));
    }
    out.extend(locks);
    Ok(())
}
