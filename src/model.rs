//! The in-memory metric model shared by sources, the scheduler and the exposition.
//!
//! A family is named the OpenMetrics way (a counter family `foo` has samples `foo_total`);
//! the text 0.0.4 encoder derives the classic header name from the samples. Sample names
//! are stored whole so that histogram/summary suffixes need no special casing downstream.

use std::fmt;

/// The metric types of OpenMetrics 1.0; `Unknown` is classic text's `untyped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    Unknown,
}

impl MetricType {
    pub fn openmetrics_name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }

    /// Classic text has no gaugehistogram, info or stateset: Prometheus ingests those
    /// as plain series, which is what `gauge`/`untyped` give in 0.0.4.
    pub fn classic_name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge | MetricType::StateSet | MetricType::Info => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
            MetricType::GaugeHistogram | MetricType::Unknown => "untyped",
        }
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.openmetrics_name())
    }
}

/// Label pairs in the order they are written. Names are valid Prometheus label names.
pub type Labels = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Full sample name, e.g. `foo_total`, `foo_bucket`, `foo`.
    pub name: String,
    pub labels: Labels,
    pub value: f64,
    /// Milliseconds since the Unix epoch, when the origin set one.
    pub timestamp_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    pub name: String,
    pub help: String,
    pub unit: String,
    pub kind: MetricType,
    pub samples: Vec<Sample>,
}

impl MetricFamily {
    pub fn new(name: impl Into<String>, kind: MetricType, help: impl Into<String>) -> Self {
        MetricFamily {
            name: name.into(),
            help: help.into(),
            unit: String::new(),
            kind,
            samples: Vec::new(),
        }
    }

    pub fn gauge(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, MetricType::Gauge, help)
    }

    /// A counter family; `name` is without `_total`.
    pub fn counter(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, MetricType::Counter, help)
    }

    /// Adds a sample named after the family (gauge, unknown, info-less types).
    pub fn push(&mut self, labels: Labels, value: f64) -> &mut Self {
        let name = match self.kind {
            MetricType::Counter => format!("{}_total", self.name),
            MetricType::Info => format!("{}_info", self.name),
            _ => self.name.clone(),
        };
        self.samples.push(Sample {
            name,
            labels,
            value,
            timestamp_ms: None,
        });
        self
    }

    /// Adds a sample named exactly as the family. For counters named before OpenMetrics'
    /// `_total` rule (postgres_exporter's `pg_stat_database_xact_commit`), whose names
    /// dashboards depend on.
    pub fn push_bare(&mut self, labels: Labels, value: f64) -> &mut Self {
        self.samples.push(Sample {
            name: self.name.clone(),
            labels,
            value,
            timestamp_ms: None,
        });
        self
    }

    /// Adds a sample with a single value and no labels.
    pub fn with_value(mut self, value: f64) -> Self {
        self.push(Vec::new(), value);
        self
    }
}

/// Builds a `Labels` from string pairs: `labels(&[("mode", "x")])`.
pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// True for a valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// True for a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`, not reserved `__` prefix).
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    !name.starts_with("__") && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_samples_get_total_suffix() {
        let mut f = MetricFamily::counter("polls", "Polls.");
        f.push(labels(&[("source", "a")]), 3.0);
        assert_eq!(f.samples[0].name, "polls_total");
    }

    #[test]
    fn name_validation() {
        assert!(is_valid_metric_name("pg_up"));
        assert!(is_valid_metric_name("ns:rate5m"));
        assert!(!is_valid_metric_name("9lives"));
        assert!(!is_valid_metric_name("a-b"));
        assert!(is_valid_label_name("source"));
        assert!(!is_valid_label_name("__name__"));
        assert!(!is_valid_label_name("a:b"));
    }
}

/// Adds the `source` label and a source's configured labels in front of every sample's
/// own labels. A label the sample already carries under one of those names is kept as
/// `exported_<name>`, as Prometheus does for a target's labels with `honor_labels: false`.
pub fn apply_source_labels(
    families: &mut [MetricFamily],
    source: &str,
    extra: &std::collections::BTreeMap<String, String>,
) {
    let mut prefix: Labels = Vec::with_capacity(1 + extra.len());
    prefix.push(("source".to_owned(), source.to_owned()));
    prefix.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    prepend_labels(families, &prefix);
}

/// Puts `prefix` in front of every sample's own labels; an own label whose name is taken
/// is renamed `exported_<name>` (again, until the name is free), as Prometheus does.
pub fn prepend_labels(families: &mut [MetricFamily], prefix: &[(String, String)]) {
    for family in families.iter_mut() {
        for sample in family.samples.iter_mut() {
            let own = std::mem::take(&mut sample.labels);
            let mut merged = Vec::with_capacity(prefix.len() + own.len());
            merged.extend(prefix.iter().cloned());
            let clashes = own
                .iter()
                .any(|(name, _)| prefix.iter().any(|(p, _)| p == name));
            if !clashes {
                merged.extend(own);
                sample.labels = merged;
                continue;
            }
            // Like Prometheus, a name counts as taken when the sample itself has it.
            let taken = |name: &str, merged: &Labels| {
                own.iter().any(|(n, _)| n == name) || merged.iter().any(|(n, _)| n == name)
            };
            for (name, value) in &own {
                let mut name = name.clone();
                if prefix.iter().any(|(p, _)| *p == name) {
                    name = format!("exported_{name}");
                    while taken(&name, &merged) {
                        name = format!("exported_{name}");
                    }
                }
                merged.push((name, value.clone()));
            }
            sample.labels = merged;
        }
    }
}

#[cfg(test)]
mod label_tests {
    use super::*;

    #[test]
    fn source_labels_go_first_and_clashes_are_exported() {
        let mut f = MetricFamily::gauge("x", "X.");
        f.push(labels(&[("source", "app"), ("a", "1")]), 1.0);
        let mut extra = std::collections::BTreeMap::new();
        extra.insert("team".to_owned(), "core".to_owned());
        let mut fams = vec![f];
        apply_source_labels(&mut fams, "api", &extra);
        assert_eq!(
            fams[0].samples[0].labels,
            labels(&[
                ("source", "api"),
                ("team", "core"),
                ("exported_source", "app"),
                ("a", "1")
            ])
        );
    }
}
