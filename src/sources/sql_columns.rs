//! Reading simple-query rows and turning columns into metric families. Every collector is
//! mostly a table of `Column`s; this file holds the one way of applying such a table.
//!
//! Shared by the PostgreSQL source (whose columns are gated by `server_version_num`) and
//! the PgBouncer source (whose admin console has no such number for its column sets, so
//! its tables are applied to whatever columns the answer actually has: [`families_present`]).

use std::collections::BTreeMap;

use tokio_postgres::SimpleQueryRow;

use crate::model::{Labels, MetricFamily, MetricType};
use crate::sources::{ErrorReason, PollError};

/// How a column becomes a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Gauge,
    /// A counter whose samples end in `_total` (the metric name here is without it).
    Counter,
    /// A counter named without `_total`, as postgres_exporter names it.
    BareCounter,
}

/// One numeric column of a query and the metric it feeds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub column: &'static str,
    pub metric: &'static str,
    pub kind: Kind,
    pub help: &'static str,
    /// Multiplies the value, e.g. 0.001 for milliseconds → seconds.
    pub scale: f64,
    /// Lowest `server_version_num` that has the column.
    pub since: u32,
    /// First `server_version_num` that no longer has it (0: still there).
    pub until: u32,
    /// Report NULL as NaN instead of leaving the sample out, where postgres_exporter
    /// does so and dashboards expect the series to exist.
    pub null_as_nan: bool,
}

pub(crate) const fn col(
    column: &'static str,
    metric: &'static str,
    kind: Kind,
    help: &'static str,
) -> Column {
    Column {
        column,
        metric,
        kind,
        help,
        scale: 1.0,
        since: 0,
        until: 0,
        null_as_nan: false,
    }
}

impl Column {
    pub const fn scaled(mut self, scale: f64) -> Self {
        self.scale = scale;
        self
    }

    pub const fn since(mut self, version_num: u32) -> Self {
        self.since = version_num;
        self
    }

    pub const fn until(mut self, version_num: u32) -> Self {
        self.until = version_num;
        self
    }

    pub const fn null_as_nan(mut self) -> Self {
        self.null_as_nan = true;
        self
    }

    pub fn exists_in(&self, version_num: u32) -> bool {
        version_num >= self.since && (self.until == 0 || version_num < self.until)
    }
}

/// The columns of `table` that exist in `version_num`, as a SQL select list.
pub(crate) fn select_list(table: &[Column], version_num: u32) -> String {
    table
        .iter()
        .filter(|c| c.exists_in(version_num))
        .map(|c| c.column)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A column's text; a missing column is a protocol error (a query we wrote did not
/// return what we asked for), NULL is `None`.
pub(crate) fn text<'r>(
    row: &'r SimpleQueryRow,
    column: &str,
) -> Result<Option<&'r str>, PollError> {
    row.try_get(column).map_err(|_| {
        PollError::new(
            ErrorReason::Protocol,
            format!("query result has no column `{column}`"),
        )
    })
}

/// A column as a number: integers, floats, `t`/`f`, `NaN`/`Infinity`. NULL is `None`.
pub(crate) fn number(row: &SimpleQueryRow, column: &str) -> Result<Option<f64>, PollError> {
    match text(row, column)? {
        None => Ok(None),
        Some(v) => parse_number(v).map(Some).ok_or_else(|| {
            PollError::new(
                ErrorReason::Protocol,
                format!("column `{column}` is not numeric: `{}`", truncate(v, 40)),
            )
        }),
    }
}

pub(crate) fn parse_number(v: &str) -> Option<f64> {
    match v {
        "t" | "true" | "on" => Some(1.0),
        "f" | "false" | "off" => Some(0.0),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => v.trim().parse::<f64>().ok(),
    }
}

fn truncate(v: &str, max: usize) -> &str {
    match v.char_indices().nth(max) {
        Some((i, _)) => &v[..i],
        None => v,
    }
}

/// Builds one family per column of `table` (that exists in `version_num`) from `rows`,
/// each sample labelled by `label_columns` (label name = column name). NULL values are
/// left out rather than reported as 0.
pub(crate) fn families(
    rows: &[SimpleQueryRow],
    label_columns: &[&str],
    table: &[Column],
    version_num: u32,
) -> Result<Vec<MetricFamily>, PollError> {
    let columns: Vec<&Column> = table.iter().filter(|c| c.exists_in(version_num)).collect();
    build(rows, label_columns, &columns)
}

/// Like [`families`], for answers whose column set is known only from the answer itself
/// (PgBouncer's SHOW commands gain and rename columns between releases): columns and label
/// columns that the rows lack are skipped, columns the table does not name are ignored.
/// When two columns of `table` feed the same metric (a column renamed between releases),
/// the first one present wins. No rows: no families, as there is nothing to tell.
pub(crate) fn families_present(
    rows: &[SimpleQueryRow],
    label_columns: &[&str],
    table: &[Column],
) -> Result<Vec<MetricFamily>, PollError> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let has = |name: &str| has_column(first, name);
    let mut columns: Vec<&Column> = Vec::new();
    for c in table {
        if has(c.column) && !columns.iter().any(|k| k.metric == c.metric) {
            columns.push(c);
        }
    }
    let labels: Vec<&str> = label_columns.iter().copied().filter(|c| has(c)).collect();
    build(rows, &labels, &columns)
}

/// Whether `row` has a column named `name` (NULL or not).
pub(crate) fn has_column(row: &SimpleQueryRow, name: &str) -> bool {
    row.columns().iter().any(|c| c.name() == name)
}

fn build(
    rows: &[SimpleQueryRow],
    label_columns: &[&str],
    columns: &[&Column],
) -> Result<Vec<MetricFamily>, PollError> {
    let mut out: Vec<MetricFamily> = columns
        .iter()
        .map(|c| {
            let kind = match c.kind {
                Kind::Gauge => MetricType::Gauge,
                Kind::Counter | Kind::BareCounter => MetricType::Counter,
            };
            MetricFamily::new(c.metric, kind, c.help)
        })
        .collect();
    for row in rows {
        let labels = row_labels(row, label_columns)?;
        for (column, family) in columns.iter().zip(out.iter_mut()) {
            let value = match number(row, column.column)? {
                Some(v) => Some(v * column.scale),
                None if column.null_as_nan => Some(f64::NAN),
                None => None,
            };
            if let Some(value) = value {
                if column.kind == Kind::BareCounter {
                    family.push_bare(labels.clone(), value);
                } else {
                    family.push(labels.clone(), value);
                }
            }
        }
    }
    Ok(out)
}

/// The label pairs of a row; NULL becomes the empty string, as Prometheus treats an
/// empty label value as absent.
pub(crate) fn row_labels(
    row: &SimpleQueryRow,
    label_columns: &[&str],
) -> Result<Labels, PollError> {
    label_columns
        .iter()
        .map(|c| {
            Ok((
                (*c).to_owned(),
                text(row, c)?.unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// Fills in 0 for every combination of `first × second` label values a family lacks, so
/// that series exist (and alerts can fire) before the first event: postgres_exporter
/// does this for connections by state and locks by mode.
pub(crate) fn zero_fill(
    family: &mut MetricFamily,
    first: (&str, &[String]),
    second: (&str, &[&str]),
) {
    let mut present: BTreeMap<(String, String), ()> = BTreeMap::new();
    for s in &family.samples {
        let a = s
            .labels
            .iter()
            .find(|(k, _)| k == first.0)
            .map(|(_, v)| v.clone());
        let b = s
            .labels
            .iter()
            .find(|(k, _)| k == second.0)
            .map(|(_, v)| v.clone());
        if let (Some(a), Some(b)) = (a, b) {
            present.insert((a, b), ());
        }
    }
    for a in first.1 {
        for b in second.1 {
            if !present.contains_key(&(a.clone(), (*b).to_owned())) {
                family.push(
                    vec![
                        (first.0.to_owned(), a.clone()),
                        (second.0.to_owned(), (*b).to_owned()),
                    ],
                    0.0,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("42"), Some(42.0));
        assert_eq!(parse_number("-1.5"), Some(-1.5));
        assert_eq!(parse_number("t"), Some(1.0));
        assert_eq!(parse_number("f"), Some(0.0));
        assert_eq!(parse_number("Infinity"), Some(f64::INFINITY));
        assert!(parse_number("NaN").unwrap().is_nan());
        assert_eq!(parse_number("0/16B3A80"), None);
        assert_eq!(parse_number(""), None);
    }

    #[test]
    fn version_gates() {
        let c = col("x", "m", Kind::Gauge, "h").since(140000).until(170000);
        assert!(!c.exists_in(130000));
        assert!(c.exists_in(140000));
        assert!(c.exists_in(160004));
        assert!(!c.exists_in(170000));
    }

    #[test]
    fn zero_fill_adds_missing_pairs_only() {
        let mut f = MetricFamily::gauge("pg_locks_count", "Locks.");
        f.push(
            vec![
                ("datname".into(), "app".into()),
                ("mode".into(), "sharelock".into()),
            ],
            3.0,
        );
        zero_fill(
            &mut f,
            ("datname", &["app".to_owned(), "jobs".to_owned()]),
            ("mode", &["sharelock", "exclusivelock"]),
        );
        assert_eq!(f.samples.len(), 4);
        assert_eq!(f.samples.iter().filter(|s| s.value == 0.0).count(), 3);
    }
}
