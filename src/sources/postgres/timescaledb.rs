//! TimescaleDB (2.x): `timescaledb_info{version}`, per-hypertable chunks, size and
//! compression, and per-job run statistics of the background job scheduler, read from
//! the documented `timescaledb_information` views of the URL's database.
//!
//! Only the URL's database is looked at: TimescaleDB is installed per database, and a
//! deployment typically keeps its hypertables in one; a second database is watched by a
//! second source. Visiting every database as `user_tables` does would cost a query (and
//! possibly a connection) per database per poll for an extension most servers lack.
//!
//! Without the extension the collector reports nothing and still succeeds, so it can be
//! on by default for every server. Cardinality is bounded: the [`MAX_HYPERTABLES`]
//! hypertables with the most chunks and the first [`MAX_JOBS`] jobs by id.

use crate::model::{labels, MetricFamily};
use crate::sources::{ErrorReason, PollError};

use super::columns::{col, families, text, Column, Kind};
use super::PostgresSource;

const MAX_HYPERTABLES: usize = 200;
const MAX_JOBS: usize = 200;

const HYPERTABLES: &[Column] = &[
    col(
        "chunks",
        "timescaledb_hypertable_chunks",
        Kind::Gauge,
        "Number of chunks of the hypertable.",
    ),
    col(
        "size_bytes",
        "timescaledb_hypertable_size_bytes",
        Kind::Gauge,
        "Disk space used by the hypertable (all chunks, indexes and TOAST), in bytes.",
    ),
    col(
        "compression_enabled",
        "timescaledb_hypertable_compression_enabled",
        Kind::Gauge,
        "Whether compression is enabled on the hypertable: 1 or 0.",
    ),
];

const JOBS: &[Column] = &[
    col("runs", "timescaledb_job_runs", Kind::Counter, "Number of runs of the background job."),
    col("successes", "timescaledb_job_successes", Kind::Counter, "Number of successful runs of the background job."),
    col("failures", "timescaledb_job_failures", Kind::Counter, "Number of failed runs of the background job."),
    col("last_run_success", "timescaledb_job_last_run_success", Kind::Gauge, "Whether the last run of the background job succeeded: 1 or 0; absent if it never ran."),
    col("last_success", "timescaledb_job_last_success_timestamp_seconds", Kind::Gauge, "Time the background job last finished successfully, in seconds since the Unix epoch; absent if never."),
    col("last_run_duration", "timescaledb_job_last_run_duration_seconds", Kind::Gauge, "Duration of the last run of the background job, in seconds."),
    col("next_start", "timescaledb_job_next_start_timestamp_seconds", Kind::Gauge, "Time the background job is next due to start, in seconds since the Unix epoch; absent if not scheduled."),
    col("scheduled", "timescaledb_job_scheduled", Kind::Gauge, "Whether the background job is scheduled to run automatically: 1 or 0."),
];

/// The installed extension: its version and the schema holding its functions.
struct Extension {
    version: String,
    schema: String,
}

pub(super) async fn collect(
    source: &mut PostgresSource,
    out: &mut Vec<MetricFamily>,
) -> Result<(), PollError> {
    let Some(ext) = extension(source).await? else {
        // Most servers do not have TimescaleDB: that is not a problem worth a warning,
        // and logging it every poll would be noise.
        if source.logged.first("timescaledb-absent") {
            tracing::debug!(
                postgres = %source.display_url,
                "timescaledb: extension not installed in the URL's database; collector reports nothing"
            );
        }
        return Ok(());
    };
    let mut info = MetricFamily::gauge(
        "timescaledb_info",
        "Version of the TimescaleDB extension installed in the database; the value is always 1.",
    );
    info.push(labels(&[("version", &ext.version)]), 1.0);
    out.push(info);

    // The views and columns read below are those of TimescaleDB 2.0 and later; 1.x had
    // other ones, so querying them would only fail.
    if major_version(&ext.version).is_none_or(|major| major < 2) {
        source.log_once(
            format!("timescaledb-version:{}", ext.version),
            &format!(
                "timescaledb: version {} is not supported (2.0 or later is); only timescaledb_info is reported",
                ext.version
            ),
        );
        return Ok(());
    }
    let version = source.version_num();

    let mut rows = source.query(&hypertables_sql(&ext.schema)).await?;
    if rows.len() > MAX_HYPERTABLES {
        rows.truncate(MAX_HYPERTABLES);
        source.log_once(
            "timescaledb-max-hypertables".to_owned(),
            &format!(
                "timescaledb: more than {MAX_HYPERTABLES} hypertables; reporting the {MAX_HYPERTABLES} with the most chunks"
            ),
        );
    }
    out.extend(families(
        &rows,
        &["schema", "hypertable"],
        HYPERTABLES,
        version,
    )?);

    let mut rows = source.query(&jobs_sql()).await?;
    if rows.len() > MAX_JOBS {
        rows.truncate(MAX_JOBS);
        source.log_once(
            "timescaledb-max-jobs".to_owned(),
            &format!("timescaledb: more than {MAX_JOBS} jobs; reporting the {MAX_JOBS} with the lowest job_id"),
        );
    }
    out.extend(families(
        &rows,
        &["job_id", "application_name", "proc_name", "hypertable"],
        JOBS,
        version,
    )?);
    Ok(())
}

async fn extension(source: &mut PostgresSource) -> Result<Option<Extension>, PollError> {
    let rows = source
        .query(
            "SELECT e.extversion AS version, n.nspname AS schema \
             FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
             WHERE e.extname = 'timescaledb'",
        )
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let (Some(version), Some(schema)) = (text(row, "version")?, text(row, "schema")?) else {
        return Err(PollError::new(
            ErrorReason::Protocol,
            "pg_extension returned a NULL version or schema for timescaledb",
        ));
    };
    Ok(Some(Extension {
        version: version.to_owned(),
        schema: schema.to_owned(),
    }))
}

/// The hypertables with the most chunks (one more than reported, to tell when some are
/// left out). The size is computed in the outer query so that `hypertable_size`, which
/// walks every chunk, runs only for the rows kept. `to_regclass` makes a hypertable
/// dropped between the two steps a NULL size instead of an error for the whole query.
/// `hypertable_size` is called schema-qualified because the extension may live outside
/// the role's `search_path`.
fn hypertables_sql(extension_schema: &str) -> String {
    let ext = quote_ident(extension_schema);
    let limit = MAX_HYPERTABLES + 1;
    format!(
        "SELECT h.hypertable_schema AS \"schema\", h.hypertable_name AS hypertable, \
         h.num_chunks AS chunks, h.compression_enabled, \
         CASE WHEN r.rel IS NOT NULL THEN {ext}.hypertable_size(r.rel) END AS size_bytes \
         FROM (SELECT hypertable_schema, hypertable_name, num_chunks, compression_enabled \
               FROM timescaledb_information.hypertables \
               ORDER BY num_chunks DESC NULLS LAST, hypertable_schema, hypertable_name \
               LIMIT {limit}) h \
         CROSS JOIN LATERAL (SELECT to_regclass(format('%I.%I', h.hypertable_schema, h.hypertable_name)) AS rel) r \
         ORDER BY h.num_chunks DESC NULLS LAST, h.hypertable_schema, h.hypertable_name"
    )
}

/// Every job with its statistics. `job_stats` has a row only for jobs that have run, so
/// it is LEFT JOINed; `next_start` falls back to the job's own. Infinite timestamps
/// (TimescaleDB uses `-infinity` for "never") become NULL, leaving the sample out.
fn jobs_sql() -> String {
    let limit = MAX_JOBS + 1;
    format!(
        "SELECT j.job_id, j.application_name, j.proc_name, j.hypertable_name AS hypertable, \
         j.scheduled, s.total_runs AS runs, s.total_successes AS successes, \
         s.total_failures AS failures, \
         CASE WHEN s.last_run_status IS NULL THEN NULL \
              WHEN s.last_run_status = 'Success' THEN 1 ELSE 0 END AS last_run_success, \
         CASE WHEN isfinite(s.last_successful_finish) \
              THEN EXTRACT(EPOCH FROM s.last_successful_finish) END AS last_success, \
         EXTRACT(EPOCH FROM s.last_run_duration) AS last_run_duration, \
         CASE WHEN isfinite(COALESCE(s.next_start, j.next_start)) \
              THEN EXTRACT(EPOCH FROM COALESCE(s.next_start, j.next_start)) END AS next_start \
         FROM timescaledb_information.jobs j \
         LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id \
         ORDER BY j.job_id LIMIT {limit}"
    )
}

/// An SQL identifier, quoted (as `quote_ident` would when needed): the schema name comes
/// from the catalog and may hold any character.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `2` of `2.17.2` or `2.18.0-dev`.
fn major_version(version: &str) -> Option<u32> {
    version.split('.').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("public"), "\"public\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }

    #[test]
    fn major_versions() {
        assert_eq!(major_version("2.17.2"), Some(2));
        assert_eq!(major_version("2.18.0-dev"), Some(2));
        assert_eq!(major_version("1.7.5"), Some(1));
        assert_eq!(major_version("x"), None);
    }

    #[test]
    fn queries_ask_one_more_row_than_reported() {
        assert!(hypertables_sql("public").contains(&format!("LIMIT {}", MAX_HYPERTABLES + 1)));
        assert!(hypertables_sql("public").contains("\"public\".hypertable_size("));
        assert!(jobs_sql().contains(&format!("LIMIT {}", MAX_JOBS + 1)));
    }
}
