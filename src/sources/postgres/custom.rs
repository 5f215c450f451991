//! Custom SQL queries from the config. Each query has its own success and duration
//! metrics; a failing one is logged and reported there, and the others keep working.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::config::{CustomQuery, CustomValueKind};
use crate::model::{labels, MetricFamily};
use crate::sources::{ErrorReason, PollError};

use super::columns::{number, row_labels};
use super::PostgresSource;

/// The last result of each query that runs less often than every poll, so every
/// snapshot still carries its series.
#[derive(Default)]
pub(super) struct Cache {
    last: HashMap<String, (Instant, Vec<MetricFamily>)>,
}

pub(super) async fn collect(
    source: &mut PostgresSource,
    out: &mut Vec<MetricFamily>,
) -> Result<(), PollError> {
    let queries = source.custom_queries.clone();
    let mut success = MetricFamily::gauge(
        "pg_custom_query_success",
        "Whether the custom query succeeded the last time it ran (1) or not (0).",
    );
    let mut duration = MetricFamily::gauge(
        "pg_custom_query_duration_seconds",
        "How long the custom query took the last time it ran, in seconds.",
    );
    let mut failures = Vec::new();
    for query in &queries {
        if let Some(interval) = query.interval {
            if let Some((ran, families)) = source.custom_cache.last.get(&query.name) {
                if ran.elapsed() < interval {
                    out.extend(families.iter().cloned());
                    continue;
                }
            }
        }
        let started = Instant::now();
        let result = run(source, query).await;
        let l = labels(&[("query", &query.name)]);
        duration.push(l.clone(), started.elapsed().as_secs_f64());
        match result {
            Ok(families) => {
                success.push(l, 1.0);
                if query.interval.is_some() {
                    source
                        .custom_cache
                        .last
                        .insert(query.name.clone(), (Instant::now(), families.clone()));
                }
                out.extend(families);
            }
            Err(e) if e.reason == ErrorReason::Connect => return Err(e),
            Err(e) => {
                success.push(l, 0.0);
                source.custom_cache.last.remove(&query.name);
                source.log_once(
                    format!("custom:{}:{}", query.name, e.message),
                    &format!("custom query {} failed: {}", query.name, e.message),
                );
                failures.push(query.name.clone());
            }
        }
    }
    out.push(success);
    out.push(duration);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(PollError::new(
            ErrorReason::Query,
            format!("custom queries failed: {}", failures.join(", ")),
        ))
    }
}

async fn run(
    source: &mut PostgresSource,
    query: &CustomQuery,
) -> Result<Vec<MetricFamily>, PollError> {
    // The server gives up at the query's timeout; the client waits a little longer so
    // that the server's clear error, not our cancellation, is what gets reported.
    let grace = Duration::from_millis(500);
    let database = query.database.clone();
    let sql = query.sql.clone();
    let timeout = query.timeout;
    let rows = tokio::time::timeout(timeout + grace, async {
        match &database {
            Some(db) => source.query_in_with_timeout(db, &sql, timeout).await,
            None => source.query_with_timeout(&sql, timeout).await,
        }
    })
    .await;
    let rows = match rows {
        Ok(r) => r?,
        Err(_) => {
            // The connection is mid-query: drop it rather than reuse it.
            source.drop_connection_for(database.as_deref());
            return Err(PollError::new(
                ErrorReason::Timeout,
                format!(
                    "did not finish within {}",
                    humantime::format_duration(timeout)
                ),
            ));
        }
    };
    let label_columns: Vec<&str> = query.labels.iter().map(String::as_str).collect();
    let mut families: Vec<MetricFamily> = query
        .values
        .iter()
        .map(|v| {
            let name = format!("{}_{}", query.name, v.column);
            let help = v.help.clone().unwrap_or_else(|| query.help.clone());
            match v.kind {
                CustomValueKind::Gauge => MetricFamily::gauge(name, help),
                CustomValueKind::Counter => MetricFamily::counter(name, help),
            }
        })
        .collect();
    for row in &rows {
        let labels = row_labels(row, &label_columns)?;
        for (value, family) in query.values.iter().zip(families.iter_mut()) {
            if let Some(v) = number(row, &value.column)? {
                family.push(labels.clone(), v);
            }
        }
    }
    families.retain(|f| !f.samples.is_empty());
    Ok(families)
}
