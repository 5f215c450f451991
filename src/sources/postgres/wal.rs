//! WAL activity (`pg_stat_wal`, 14+), WAL directory size, and the archiver.

use crate::model::MetricFamily;
use crate::sources::PollError;

use super::columns::{col, families, number, select_list, Column, Kind};
use super::PostgresSource;

const PG14: u32 = 140_000;
const PG18: u32 = 180_000;

const STAT_WAL: &[Column] = &[
    col("wal_records", "pg_stat_wal_records", Kind::Counter, "Total number of WAL records generated.").since(PG14),
    col("wal_fpi", "pg_stat_wal_fpi", Kind::Counter, "Total number of WAL full page images generated.").since(PG14),
    col("wal_bytes", "pg_stat_wal_bytes", Kind::Counter, "Total amount of WAL generated, in bytes.").since(PG14),
    col("wal_buffers_full", "pg_stat_wal_buffers_full", Kind::Counter, "Number of times WAL data was written to disk because WAL buffers became full.").since(PG14),
    // PostgreSQL 18 moved write and sync figures to pg_stat_io.
    col("wal_write", "pg_stat_wal_write", Kind::Counter, "Number of times WAL buffers were written out to disk (PostgreSQL 14 to 17).").since(PG14).until(PG18),
    col("wal_sync", "pg_stat_wal_sync", Kind::Counter, "Number of times WAL files were synced to disk (PostgreSQL 14 to 17).").since(PG14).until(PG18),
    col("wal_write_time", "pg_stat_wal_write_time_seconds", Kind::Counter, "Time spent writing WAL buffers to disk, in seconds (PostgreSQL 14 to 17; needs track_wal_io_timing).").since(PG14).until(PG18).scaled(0.001),
    col("wal_sync_time", "pg_stat_wal_sync_time_seconds", Kind::Counter, "Time spent syncing WAL files to disk, in seconds (PostgreSQL 14 to 17; needs track_wal_io_timing).").since(PG14).until(PG18).scaled(0.001),
    col("stats_reset", "pg_stat_wal_stats_reset_timestamp_seconds", Kind::Gauge, "Time at which the WAL statistics were last reset, in seconds since the Unix epoch.").since(PG14),
];

const ARCHIVER: &[Column] = &[
    col(
        "archived_count",
        "pg_stat_archiver_archived_count",
        Kind::BareCounter,
        "Number of WAL files that have been successfully archived.",
    ),
    col(
        "failed_count",
        "pg_stat_archiver_failed_count",
        Kind::BareCounter,
        "Number of failed attempts for archiving WAL files.",
    ),
    col(
        "last_archive_age",
        "pg_stat_archiver_last_archive_age",
        Kind::Gauge,
        "Time since the last WAL file was successfully archived, in seconds; NaN if none ever was.",
    )
    .null_as_nan(),
];

pub(super) async fn collect(
    source: &mut PostgresSource,
    out: &mut Vec<MetricFamily>,
) -> Result<(), PollError> {
    let version = source.version_num();
    if version >= PG14 {
        let select = select_list(STAT_WAL, version).replace(
            "stats_reset",
            "EXTRACT(EPOCH FROM stats_reset) AS stats_reset",
        );
        let rows = source
            .query(&format!("SELECT {select} FROM pg_stat_wal"))
            .await?;
        out.extend(families(&rows, &[], STAT_WAL, version)?);
    }

    let rows = source
        .query(
            "SELECT archived_count, failed_count, \
             EXTRACT(EPOCH FROM now() - last_archived_time) AS last_archive_age \
             FROM pg_stat_archiver",
        )
        .await?;
    out.extend(families(&rows, &[], ARCHIVER, version)?);

    // pg_ls_waldir needs pg_monitor (or superuser); without it the WAL size is left out
    // rather than failing the collector's other figures.
    let allowed = source
        .query("SELECT has_function_privilege('pg_ls_waldir()', 'EXECUTE') AS allowed")
        .await?;
    if allowed
        .first()
        .map(|r| number(r, "allowed"))
        .transpose()?
        .flatten()
        == Some(1.0)
    {
        let rows = source
            .query(
                "SELECT count(*) AS segments, COALESCE(sum(size), 0) AS size_bytes \
                 FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'",
            )
            .await?;
        out.extend(families(
            &rows,
            &[],
            &[
                col(
                    "segments",
                    "pg_wal_segments",
                    Kind::Gauge,
                    "Number of WAL segment files in pg_wal.",
                ),
                col(
                    "size_bytes",
                    "pg_wal_size_bytes",
                    Kind::Gauge,
                    "Total size of the WAL segment files in pg_wal, in bytes.",
                ),
            ],
            version,
        )?);
    }
    Ok(())
}
