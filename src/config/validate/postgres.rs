//! Validation of the PostgreSQL-only parts of a source: `collectors` and
//! `custom_queries`. A child of `validate` so it can use the `Builder` directly.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use super::super::schema::{
    Count, Dur, Flag, RawCollector, RawCollectors, RawCustomQuery, RawCustomValue, RawStatements,
    RawTables, Text, Toggle,
};
use super::super::{
    CustomQuery, CustomValue, CustomValueKind, PostgresCollectors, SourceCommon, StatementsOptions,
    TablesOptions,
};
use super::{fmt_duration, label_name_problem, Builder, FieldPath};

const MAX_DATABASES: RangeInclusive<usize> = 1..=100;
const MAX_TABLES: RangeInclusive<usize> = 1..=10_000;
const STATEMENTS_LIMIT: RangeInclusive<usize> = 1..=1000;
const QUERY_TEXT_MAX_LENGTH: RangeInclusive<usize> = 16..=4096;

/// Metric name prefixes a custom query may not use, with the reason given in the error.
const RESERVED_PREFIXES: [(&str, &str); 2] = [
    (
        "pg_",
        "the pg_ prefix is reserved for the built-in PostgreSQL collectors, so a custom metric can never clash with (or be mistaken for) one of theirs",
    ),
    (
        "stack_exporter_",
        "the stack_exporter_ prefix is reserved for the exporter's own metrics",
    ),
];

impl Builder {
    pub(super) fn postgres_collectors(
        &mut self,
        raw: Option<RawCollectors>,
        p: &FieldPath,
    ) -> PostgresCollectors {
        let mut out = PostgresCollectors::default();
        let Some(raw) = raw else { return out };
        let simple = [
            (raw.database, &mut out.database),
            (raw.activity, &mut out.activity),
            (raw.locks, &mut out.locks),
            (raw.bgwriter, &mut out.bgwriter),
            (raw.wal, &mut out.wal),
            (raw.replication, &mut out.replication),
            (raw.settings, &mut out.settings),
            (raw.postmaster, &mut out.postmaster),
            (raw.timescaledb, &mut out.timescaledb),
        ];
        for (toggle, slot) in simple {
            match toggle {
                None => {}
                Some(Toggle::Bool(on)) => *slot = on,
                Some(Toggle::Block(RawCollector { enabled })) => *slot = is_on(enabled),
            }
        }
        match raw.user_tables {
            None => {}
            Some(Toggle::Bool(on)) => out.user_tables = on.then(TablesOptions::default),
            Some(Toggle::Block(t)) => {
                let on = is_on(t.enabled);
                // Options are checked even when disabled: a wrong value is a mistake
                // whether or not it is in use right now.
                let options = self.tables_options(t, &p.key("user_tables"));
                out.user_tables = on.then_some(options);
            }
        }
        match raw.statements {
            None => {}
            Some(Toggle::Bool(on)) => out.statements = on.then(StatementsOptions::default),
            Some(Toggle::Block(s)) => {
                let on = is_on(s.enabled);
                let options = self.statements_options(s, &p.key("statements"));
                out.statements = on.then_some(options);
            }
        }
        out
    }

    fn tables_options(&mut self, raw: RawTables, p: &FieldPath) -> TablesOptions {
        let mut out = TablesOptions {
            databases: self.database_list(raw.databases, &p.key("databases")),
            exclude_databases: self
                .database_list(raw.exclude_databases, &p.key("exclude_databases")),
            ..TablesOptions::default()
        };
        for (i, db) in out.exclude_databases.iter().enumerate() {
            if out.databases.contains(db) {
                self.issue(
                    p.key("exclude_databases").index(i),
                    format!("database `{db}` is both listed in `databases` and excluded; remove it from one of the two lists"),
                );
            }
        }
        if let Some(n) = self.ranged(
            raw.max_databases,
            p,
            "max_databases",
            MAX_DATABASES,
            out.max_databases,
        ) {
            out.max_databases = n;
        }
        if let Some(n) = self.ranged(raw.max_tables, p, "max_tables", MAX_TABLES, out.max_tables) {
            out.max_tables = n;
        }
        out
    }

    fn statements_options(&mut self, raw: RawStatements, p: &FieldPath) -> StatementsOptions {
        let mut out = StatementsOptions::default();
        if let Some(n) = self.ranged(raw.limit, p, "limit", STATEMENTS_LIMIT, out.limit) {
            out.limit = n;
        }
        if let Some(Flag(on)) = raw.query_text {
            out.query_text = on;
        }
        if let Some(n) = self.ranged(
            raw.query_text_max_length,
            p,
            "query_text_max_length",
            QUERY_TEXT_MAX_LENGTH,
            out.query_text_max_length,
        ) {
            out.query_text_max_length = n;
        }
        out
    }

    /// The value of an optional number option if it lies in `range`; an issue otherwise.
    pub(super) fn ranged(
        &mut self,
        value: Option<Count>,
        p: &FieldPath,
        key: &str,
        range: RangeInclusive<usize>,
        default: usize,
    ) -> Option<usize> {
        let Count(n) = value?;
        match usize::try_from(n) {
            Ok(v) if range.contains(&v) => Some(v),
            _ => {
                self.issue(
                    p.key(key),
                    format!(
                        "{key} {n} is out of range; expected {} to {} (default {default})",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    fn database_list(&mut self, raw: Option<Vec<Text>>, p: &FieldPath) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (i, Text(db)) in raw.unwrap_or_default().into_iter().enumerate() {
            if db.is_empty() {
                self.issue(p.index(i), "database name must not be empty");
            } else if out.contains(&db) {
                self.issue(
                    p.index(i),
                    format!("database `{db}` is listed twice; list each database once"),
                );
            } else {
                out.push(db);
            }
        }
        out
    }

    /// `timing_ok` is false when the source's own interval or timeout was rejected:
    /// comparing against the fallback values would only add confusing errors.
    pub(super) fn custom_queries(
        &mut self,
        raw: Option<Vec<RawCustomQuery>>,
        source: &SourceCommon,
        timing_ok: bool,
        p: &FieldPath,
    ) -> Vec<CustomQuery> {
        let mut out: Vec<CustomQuery> = Vec::new();
        // Exposed metric name → where it is produced, so that two queries (or two
        // columns) whose names run together into the same metric are caught here rather
        // than by the encoder dropping one of them at every scrape.
        let mut metrics: HashMap<String, FieldPath> = HashMap::new();
        for (i, q) in raw.unwrap_or_default().into_iter().enumerate() {
            let at = p.index(i);
            let name_at = at.key("name");
            let query = self.custom_query(q, source, timing_ok, &at);
            if let Some(first) = out.iter().position(|o| o.name == query.name) {
                self.issue(
                    name_at,
                    format!(
                        "duplicate custom query name `{}`, already used by {}; each query's name must be unique within the source",
                        query.name,
                        p.index(first)
                    ),
                );
            } else {
                for (j, v) in query.values.iter().enumerate() {
                    let family = format!("{}_{}", query.name, v.column);
                    let mut exposed = vec![family.clone()];
                    if v.kind == CustomValueKind::Counter {
                        exposed.push(format!("{family}_total"));
                    }
                    let v_at = at.key("values").index(j).key("column");
                    for name in exposed {
                        if let Some(first) = metrics.get(&name) {
                            let first = first.to_string();
                            self.issue(
                                v_at.clone(),
                                format!("metric `{name}` is also produced by {first}; rename a query or alias a column so that every metric name is unique"),
                            );
                        } else {
                            metrics.insert(name, v_at.clone());
                        }
                    }
                }
            }
            out.push(query);
        }
        out
    }

    fn custom_query(
        &mut self,
        raw: RawCustomQuery,
        source: &SourceCommon,
        timing_ok: bool,
        p: &FieldPath,
    ) -> CustomQuery {
        let name = raw.name.0;
        // Columns are checked as part of `<name>_<column>`; with a bad name that would
        // flag every column too, so they are checked under a stand-in valid prefix.
        let mut prefix = name.as_str();
        if let Some(m) = custom_metric_name_problem(&name) {
            self.issue(p.key("name"), m);
            prefix = "custom";
        }
        let help = raw.help.0;
        if help.trim().is_empty() {
            self.issue(
                p.key("help"),
                "help must not be empty; describe what the query measures (it becomes the metrics' HELP text)",
            );
        }
        let sql = raw.sql.0;
        if sql.trim().is_empty() {
            self.issue(
                p.key("sql"),
                "sql must not be empty; give one SELECT statement",
            );
        }

        let mut labels: Vec<String> = Vec::new();
        for (i, Text(label)) in raw.labels.unwrap_or_default().into_iter().enumerate() {
            let at = p.key("labels").index(i);
            if let Some(m) = label_name_problem(&label) {
                self.issue(at, m);
            } else if labels.contains(&label) {
                self.issue(
                    at,
                    format!("label column `{label}` is listed twice; list each column once"),
                );
            } else if source.labels.contains_key(&label) {
                self.issue(
                    at,
                    format!("label `{label}` is also a label of this source (labels.{label}) and would be renamed exported_{label}; alias the column to another name"),
                );
            } else {
                labels.push(label);
            }
        }

        const NEEDS_VALUES: &str =
            "a custom query needs at least one value column; e.g. values: [{ column: count }]";
        let raw_values = match raw.values {
            // Without the key there is nothing to point at but the query itself.
            None => {
                self.issue(p.clone(), NEEDS_VALUES);
                Vec::new()
            }
            Some(v) if v.is_empty() => {
                self.issue(p.key("values"), NEEDS_VALUES);
                v
            }
            Some(v) => v,
        };
        let mut values: Vec<CustomValue> = Vec::with_capacity(raw_values.len());
        for (i, v) in raw_values.into_iter().enumerate() {
            let at = p.key("values").index(i);
            let Some(value) = self.custom_value(v, prefix, &at) else {
                continue;
            };
            if values.iter().any(|o| o.column == value.column) {
                self.issue(
                    at.key("column"),
                    format!(
                        "value column `{}` is listed twice; list each column once",
                        value.column
                    ),
                );
            } else if labels.contains(&value.column) {
                self.issue(
                    at.key("column"),
                    format!("column `{}` is both a label and a value; a column is either one or the other (select it twice under two aliases if both are wanted)", value.column),
                );
            } else {
                values.push(value);
            }
        }

        let interval = raw.interval.map(|Dur(d)| d);
        if let (Some(d), true) = (interval, timing_ok) {
            if d < source.interval {
                self.issue(
                    p.key("interval"),
                    format!(
                        "interval {} is shorter than the source's interval {}; a custom query runs at most once per poll of its source, so leave interval out (every poll) or make it at least {}",
                        fmt_duration(d),
                        fmt_duration(source.interval),
                        fmt_duration(source.interval)
                    ),
                );
            }
        }
        let timeout = match raw.timeout {
            None => source.timeout,
            Some(Dur(d)) if d.is_zero() => {
                self.issue(p.key("timeout"), "timeout must be greater than 0");
                source.timeout
            }
            Some(Dur(d)) => {
                if timing_ok && d > source.timeout {
                    self.issue(
                        p.key("timeout"),
                        format!(
                            "timeout {} is longer than the source's timeout {}; the whole poll, custom queries included, is cut off at the source's timeout, so this query's timeout must not exceed it",
                            fmt_duration(d),
                            fmt_duration(source.timeout)
                        ),
                    );
                }
                d
            }
        };
        let database = match raw.database {
            Some(Text(db)) if db.is_empty() => {
                self.issue(
                    p.key("database"),
                    "database must not be empty; leave it out to use the database of the source's URL",
                );
                None
            }
            other => other.map(|Text(db)| db),
        };
        CustomQuery {
            name,
            sql,
            help,
            labels,
            values,
            interval,
            timeout: clamp_positive(timeout),
            database,
        }
    }

    fn custom_value(
        &mut self,
        raw: RawCustomValue,
        query_name: &str,
        p: &FieldPath,
    ) -> Option<CustomValue> {
        let column = raw.column.0;
        let kind = match raw.kind {
            None => CustomValueKind::Gauge,
            Some(Text(t)) => match t.to_ascii_lowercase().as_str() {
                "gauge" => CustomValueKind::Gauge,
                "counter" => CustomValueKind::Counter,
                _ => {
                    self.issue(
                        p.key("type"),
                        format!(
                            "unknown value type `{t}`; expected gauge (the default) or counter"
                        ),
                    );
                    CustomValueKind::Gauge
                }
            },
        };
        let help = match raw.help {
            Some(Text(h)) if h.trim().is_empty() => {
                self.issue(
                    p.key("help"),
                    "help must not be empty; leave it out to use the query's help",
                );
                None
            }
            other => other.map(|Text(h)| h),
        };
        if let Some(m) = value_column_problem(&column, query_name, kind) {
            self.issue(p.key("column"), m);
            return None;
        }
        Some(CustomValue { column, kind, help })
    }
}

/// An absent `enabled` in a collector block means the block is there to set options.
fn is_on(enabled: Option<Flag>) -> bool {
    enabled.is_none_or(|Flag(on)| on)
}

/// A zero timeout has already been reported; this only keeps the value usable.
fn clamp_positive(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
}

/// Custom metric names use `[a-zA-Z_][a-zA-Z0-9_]*`: Prometheus allows `:` too, but
/// reserves it for recording rules.
fn is_plain_metric_name(name: &str) -> bool {
    crate::model::is_valid_metric_name(name) && !name.contains(':')
}

fn custom_metric_name_problem(name: &str) -> Option<String> {
    if !is_plain_metric_name(name) || name.starts_with("__") {
        return Some(format!(
            "invalid custom query name `{name}`; it is the metric name prefix, so use letters, digits and _ (not starting with a digit or __), e.g. app_jobs"
        ));
    }
    RESERVED_PREFIXES
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(prefix, why)| {
            format!(
                "custom query name `{name}` starts with `{prefix}`; {why}: choose another prefix, e.g. app_{}",
                name.trim_start_matches(prefix)
            )
        })
}

fn value_column_problem(column: &str, query_name: &str, kind: CustomValueKind) -> Option<String> {
    let metric = format!("{query_name}_{column}");
    if column.is_empty() || !is_plain_metric_name(&metric) {
        return Some(format!(
            "invalid value column `{column}`: the metric would be named `{metric}`; use letters, digits and _ in the column name (alias it in the SQL with AS)"
        ));
    }
    // Checked on the whole name, so that a column named just `total` is caught too.
    if kind == CustomValueKind::Counter && metric.ends_with("_total") {
        let fix = match column.strip_suffix("_total") {
            Some(bare) if !bare.is_empty() => {
                format!("alias the column without the suffix, e.g. AS {bare}")
            }
            _ => "alias the column to a name that does not end the metric in _total".to_owned(),
        };
        return Some(format!(
            "counter `{metric}` (column `{column}`) ends in `_total`; the exporter adds `_total` to counter samples itself, so it would be exposed as `{metric}_total`: {fix}"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_name_rules() {
        assert!(custom_metric_name_problem("app_jobs").is_none());
        assert!(custom_metric_name_problem("_x").is_none());
        assert!(custom_metric_name_problem("1x").is_some());
        assert!(custom_metric_name_problem("a:b").is_some());
        assert!(custom_metric_name_problem("__x").is_some());
        assert!(custom_metric_name_problem("").is_some());
        let m = custom_metric_name_problem("pg_jobs").unwrap_or_default();
        assert!(m.contains("reserved for the built-in"), "{m}");
        assert!(m.ends_with("e.g. app_jobs"), "{m}");
        // The prefix is case-sensitive, as metric names are.
        assert!(custom_metric_name_problem("PG_jobs").is_none());
    }

    #[test]
    fn value_column_rules() {
        assert!(value_column_problem("jobs", "app", CustomValueKind::Gauge).is_none());
        assert!(value_column_problem("9", "app", CustomValueKind::Gauge).is_none());
        assert!(value_column_problem("jobs_total", "app", CustomValueKind::Gauge).is_none());
        assert!(value_column_problem("jobs_total", "app", CustomValueKind::Counter).is_some());
        assert!(value_column_problem("total", "app", CustomValueKind::Counter).is_some());
        assert!(value_column_problem("total", "app", CustomValueKind::Gauge).is_none());
        assert!(value_column_problem("", "app", CustomValueKind::Gauge).is_some());
        assert!(value_column_problem("a-b", "app", CustomValueKind::Gauge).is_some());
        assert!(value_column_problem("a:b", "app", CustomValueKind::Gauge).is_some());
    }
}
