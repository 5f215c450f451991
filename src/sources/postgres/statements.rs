//! The top statements from pg_stat_statements, by total execution time, with
//! postgres_exporter's names. Bounded cardinality: `limit` statements; rows that
//! pg_stat_statements splits (top-level and nested, PostgreSQL 14+) are summed so one
//! statement is one series.

use std::collections::HashSet;

use crate::model::{labels, MetricFamily};
use crate::sources::PollError;

use super::columns::{col, families, text, Column, Kind};
use super::PostgresSource;

const PG17: u32 = 170_000;

const STATEMENTS: &[Column] = &[
    col(
        "calls",
        "pg_stat_statements_calls",
        Kind::Counter,
        "Number of times the statement was executed.",
    ),
    col(
        "seconds",
        "pg_stat_statements_seconds",
        Kind::Counter,
        "Total time spent executing the statement, in seconds.",
    ),
    col(
        "rows",
        "pg_stat_statements_rows",
        Kind::Counter,
        "Total number of rows retrieved or affected by the statement.",
    ),
    col(
        "block_read_seconds",
        "pg_stat_statements_block_read_seconds",
        Kind::Counter,
        "Total time the statement spent reading blocks, in seconds (needs track_io_timing).",
    ),
    col(
        "block_write_seconds",
        "pg_stat_statements_block_write_seconds",
        Kind::Counter,
        "Total time the statement spent writing blocks, in seconds (needs track_io_timing).",
    ),
];

pub(super) async fn collect(
    source: &mut PostgresSource,
    out: &mut Vec<MetricFamily>,
) -> Result<(), PollError> {
    let Some(options) = source.collectors.statements.clone() else {
        return Ok(());
    };
    let installed = source
        .query("SELECT count(*) AS n FROM pg_extension WHERE extname = 'pg_stat_statements'")
        .await?;
    if installed
        .first()
        .and_then(|r| r.try_get("n").ok().flatten())
        != Some("1")
    {
        let db = source.url_database().unwrap_or("?").to_owned();
        source.log_once(
            format!("statements-missing:{db}"),
            &format!(
                "statements: the pg_stat_statements extension is not installed in database {db}; \
                 add it to shared_preload_libraries and run CREATE EXTENSION pg_stat_statements"
            ),
        );
        return Ok(());
    }
    let version = source.version_num();
    let (read, write) = if version >= PG17 {
        ("shared_blk_read_time", "shared_blk_write_time")
    } else {
        ("blk_read_time", "blk_write_time")
    };
    let query_text = if options.query_text {
        format!(
            ", left(regexp_replace(min(s.query), '\\s+', ' ', 'g'), {}) AS query",
            options.query_text_max_length
        )
    } else {
        String::new()
    };
    let rows = source
        .query(&format!(
            "SELECT pg_get_userbyid(s.userid) AS user, d.datname, s.queryid::text AS queryid, \
             sum(s.calls) AS calls, sum(s.total_exec_time) / 1000.0 AS seconds, sum(s.rows) AS rows, \
             sum(s.{read}) / 1000.0 AS block_read_seconds, sum(s.{write}) / 1000.0 AS block_write_seconds\
             {query_text} \
             FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid \
             WHERE s.queryid IS NOT NULL \
             GROUP BY s.userid, d.datname, s.queryid \
             ORDER BY sum(s.total_exec_time) DESC LIMIT {}",
            options.limit
        ))
        .await?;
    out.extend(families(
        &rows,
        &["user", "datname", "queryid"],
        STATEMENTS,
        version,
    )?);
    if options.query_text {
        let mut mapping = MetricFamily::gauge(
            "pg_stat_statements_query_id",
            "The text of a statement (truncated) for its queryid; the value is always 1.",
        );
        let mut seen = HashSet::new();
        for row in &rows {
            let id = text(row, "queryid")?.unwrap_or_default();
            if seen.insert(id.to_owned()) {
                let query = text(row, "query")?.unwrap_or_default();
                mapping.push(labels(&[("queryid", id), ("query", query)]), 1.0);
            }
        }
        out.push(mapping);
    }
    Ok(())
}
