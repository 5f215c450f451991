//! The background writer and the checkpointer.
//!
//! PostgreSQL 17 moved the checkpoint columns out of `pg_stat_bgwriter` into
//! `pg_stat_checkpointer`; exporters that kept querying the old columns broke or silently
//! lost their checkpoint metrics. Here every version gets both names: the classic
//! `pg_stat_bgwriter_checkpoints_*` (which existing dashboards use) and the new
//! `pg_stat_checkpointer_*`, each filled from whichever view the server has. Only
//! `buffers_backend` and `buffers_backend_fsync`, which 17 moved to `pg_stat_io` and
//! which are not checkpoint metrics, end at 16.

use crate::model::MetricFamily;
use crate::sources::PollError;

use super::columns::{col, families, select_list, Column, Kind};
use super::PostgresSource;

const PG17: u32 = 170_000;
const PG18: u32 = 180_000;

/// Columns of pg_stat_bgwriter that every version has.
const BGWRITER: &[Column] = &[
    col("buffers_clean", "pg_stat_bgwriter_buffers_clean", Kind::Counter, "Number of buffers written by the background writer."),
    col("maxwritten_clean", "pg_stat_bgwriter_maxwritten_clean", Kind::Counter, "Number of times the background writer stopped a cleaning scan because it had written too many buffers."),
    col("buffers_alloc", "pg_stat_bgwriter_buffers_alloc", Kind::Counter, "Number of buffers allocated."),
    col("buffers_backend", "pg_stat_bgwriter_buffers_backend", Kind::Counter, "Number of buffers written directly by a backend (PostgreSQL 16 and older).").until(PG17),
    col("buffers_backend_fsync", "pg_stat_bgwriter_buffers_backend_fsync", Kind::Counter, "Number of times a backend had to execute its own fsync call (PostgreSQL 16 and older).").until(PG17),
    col("stats_reset", "pg_stat_bgwriter_stats_reset_timestamp_seconds", Kind::Gauge, "Time at which the background writer statistics were last reset, in seconds since the Unix epoch."),
];

/// Checkpoint figures: (column in pg_stat_bgwriter up to 16, column in pg_stat_checkpointer
/// from 17, classic metric, new metric, help).
const CHECKPOINTS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "checkpoints_timed",
        "num_timed",
        "pg_stat_bgwriter_checkpoints_timed",
        "pg_stat_checkpointer_num_timed",
        "Number of scheduled checkpoints.",
    ),
    (
        "checkpoints_req",
        "num_requested",
        "pg_stat_bgwriter_checkpoints_req",
        "pg_stat_checkpointer_num_requested",
        "Number of requested checkpoints.",
    ),
    (
        "checkpoint_write_time",
        "write_time",
        "pg_stat_bgwriter_checkpoint_write_time",
        "pg_stat_checkpointer_write_time",
        "Time spent writing checkpoint files to disk, in milliseconds.",
    ),
    (
        "checkpoint_sync_time",
        "sync_time",
        "pg_stat_bgwriter_checkpoint_sync_time",
        "pg_stat_checkpointer_sync_time",
        "Time spent synchronizing checkpoint files to disk, in milliseconds.",
    ),
    (
        "buffers_checkpoint",
        "buffers_written",
        "pg_stat_bgwriter_buffers_checkpoint",
        "pg_stat_checkpointer_buffers_written",
        "Number of buffers written during checkpoints.",
    ),
];

/// pg_stat_checkpointer columns with no counterpart before 17.
const CHECKPOINTER_ONLY: &[Column] = &[
    col("restartpoints_timed", "pg_stat_checkpointer_restartpoints_timed", Kind::Counter, "Number of scheduled restartpoints (on a standby).").since(PG17),
    col("restartpoints_req", "pg_stat_checkpointer_restartpoints_req", Kind::Counter, "Number of requested restartpoints (on a standby).").since(PG17),
    col("restartpoints_done", "pg_stat_checkpointer_restartpoints_done", Kind::Counter, "Number of restartpoints that have been performed.").since(PG17),
    col("num_done", "pg_stat_checkpointer_num_done", Kind::Counter, "Number of checkpoints that have been performed.").since(PG18),
    col("slru_written", "pg_stat_checkpointer_slru_written", Kind::Counter, "Number of SLRU buffers written during checkpoints and restartpoints.").since(PG18),
    col("stats_reset", "pg_stat_checkpointer_stats_reset_timestamp_seconds", Kind::Gauge, "Time at which the checkpointer statistics were last reset, in seconds since the Unix epoch.").since(PG17),
];

fn epoch(list: String) -> String {
    list.replace(
        "stats_reset",
        "EXTRACT(EPOCH FROM stats_reset) AS stats_reset",
    )
}

pub(super) async fn collect(
    source: &mut PostgresSource,
    out: &mut Vec<MetricFamily>,
) -> Result<(), PollError> {
    let version = source.version_num();
    let legacy = version < PG17;
    let checkpoint_columns: Vec<&str> = CHECKPOINTS
        .iter()
        .map(|(old, new, ..)| if legacy { *old } else { *new })
        .collect();

    let mut bgwriter_select = select_list(BGWRITER, version);
    if legacy {
        bgwriter_select = format!("{bgwriter_select}, {}", checkpoint_columns.join(", "));
    }
    let bgwriter_rows = source
        .query(&format!(
            "SELECT {} FROM pg_stat_bgwriter",
            epoch(bgwriter_select)
        ))
        .await?;
    out.extend(families(&bgwriter_rows, &[], BGWRITER, version)?);

    let checkpoint_rows = if legacy {
        bgwriter_rows
    } else {
        let select = format!(
            "{}, {}",
            checkpoint_columns.join(", "),
            select_list(CHECKPOINTER_ONLY, version)
        );
        let rows = source
            .query(&format!(
                "SELECT {} FROM pg_stat_checkpointer",
                epoch(select)
            ))
            .await?;
        out.extend(families(&rows, &[], CHECKPOINTER_ONLY, version)?);
        rows
    };
    // Both names for every checkpoint figure, from whichever view has it.
    let both: Vec<Column> = CHECKPOINTS
        .iter()
        .zip(&checkpoint_columns)
        .flat_map(|((_, _, classic, new, help), column)| {
            [
                col(column, classic, Kind::Counter, help),
                col(column, new, Kind::Counter, help),
            ]
        })
        .collect();
    out.extend(families(&checkpoint_rows, &[], &both, version)?);
    Ok(())
}
