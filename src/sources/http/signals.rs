//! Golden signals: a few standard series per app, derived from whatever the app itself
//! exposes, so that the shipped dashboards and alerts work for any app without editing.
//! A pure function of one poll's scraped families (all of the app's `metrics_url`s) and
//! the app's `signals` config; the scheduler adds `source` and the configured labels as
//! it does to every series.
//!
//! | series | from |
//! | --- | --- |
//! | `stack_request_duration_seconds` (histogram) | the app's latency histogram |
//! | `stack_requests_total{code_class}` | the app's request counter, by status class |
//! | `stack_request_errors_total` | the same counter, statuses matching `errors` |
//! | `stack_queue_depth{queue,state,library="app"}` | the app's queue gauges |
//!
//! Decisions:
//!
//! - **Aggregation.** Everything is summed over the app's own labels (route, method,
//!   instance, …) and over its `metrics_url`s: one histogram, at most six request
//!   series and one error series per app, whatever the app exposes, so dashboards stay
//!   cheap. The app's own series are still served for drill-down. A counter reset of
//!   one underlying series (one of several processes restarting) shows as a drop of
//!   the sum, which `rate()`/`increase()` treat as a reset of the whole: fine for
//!   rates, as is any counter's reset.
//! - **Buckets.** Only bounds that every summed series has are kept (`+Inf` always): a
//!   sum at a bound some series lack would not be cumulative. Bounds are converted to
//!   seconds by moving the decimal point (`5` ms → `0.005`, exact, no binary rounding),
//!   and written as Go's client writes them. `_sum` is converted too; counts are not.
//!   A series without a `+Inf` bucket uses its `_count` there (they are equal by
//!   definition); one with neither is left out. NaN samples are left out of every sum.
//! - **Units**: `signals.latency.unit`, else the family's OpenMetrics UNIT, else its
//!   name's suffix (`_seconds`, `_milliseconds`/`_ms`, `_microseconds`/`_us`). Not
//!   knowing it is reported rather than guessed: a wrong guess is off by 1000.
//! - **Histograms only.** A summary's quantiles cannot be summed across series, so a
//!   configured summary is refused (reported) and detection skips summaries. Its
//!   `_count` by status can still give the request counts (see below).
//! - **Status classes**: `1xx`…`5xx` from a three-digit status 100–599 (or a value
//!   already written `2xx`); `other` for anything else, including a series without the
//!   status label. Errors: statuses the anchored regex `errors` (default `5..`)
//!   matches; without any status label errors are not derived (a 0 would be a lie).
//! - **Fallback for requests**: with no request counter configured or detected, the
//!   latency family's `_count` (histogram or summary, as Micrometer exposes
//!   `http_server_requests_seconds` with a `status` label) gives the requests, when
//!   it carries a status label.
//! - **Counters** may be named with or without `_total`; counters and untyped families
//!   qualify (an app without TYPE lines still counts), gauges do not. Queue gauges may
//!   be gauges or untyped.
//! - **Name clashes.** If the app itself exposes a family (or samples) under one of
//!   our names, that one signal is not derived and the app's series are served as they
//!   are: re-exposition keeps every app series (docs/apps.md), and an app that already
//!   speaks these names needs no derivation. The note says so.
//! - **Nothing found, nothing derived**: no empty families. A configured family
//!   missing from the scrape (or of the wrong type) is a note marked as a problem on the
//!   status page, never a failed poll.

use std::collections::BTreeMap;

use crate::config::{QueueName, SignalsConfig, StatusMatcher, TimeUnit};
use crate::model::{labels, Labels, MetricFamily, MetricType, Sample};
use crate::sources::{SourceNote, QUEUE_DEPTH, QUEUE_DEPTH_HELP};

pub(crate) const LATENCY_FAMILY: &str = "stack_request_duration_seconds";
/// A counter family: its samples are `stack_requests_total`.
pub(crate) const REQUESTS_FAMILY: &str = "stack_requests";
/// A counter family: its sample is `stack_request_errors_total`.
pub(crate) const ERRORS_FAMILY: &str = "stack_request_errors";

/// Latency histograms detected by exact name, in this order: Prometheus's naming
/// guide, OpenTelemetry's `http.server.request.duration`, Spring/Micrometer, common
/// short and millisecond variants.
pub(crate) const LATENCY_NAMES: [&str; 6] = [
    "http_request_duration_seconds",
    "http_server_request_duration_seconds",
    "http_server_requests_seconds",
    "request_duration_seconds",
    "http_request_duration_ms",
    "http_request_duration_milliseconds",
];
/// Then the first histogram whose name ends in one of these (app-prefixed names such as
/// `synckairos_http_request_duration_ms`).
pub(crate) const LATENCY_SUFFIXES: [&str; 5] = [
    "_http_request_duration_seconds",
    "_http_request_duration_ms",
    "_http_request_duration_milliseconds",
    "_http_server_request_duration_seconds",
    "_http_server_requests_seconds",
];
/// Request counters detected by exact name, in this order.
pub(crate) const REQUEST_NAMES: [&str; 3] = [
    "http_requests_total",
    "http_server_requests_total",
    "requests_total",
];
/// Then the first counter whose name ends in one of these.
pub(crate) const REQUEST_SUFFIXES: [&str; 1] = ["_http_requests_total"];
/// The status label: the first of these present on the family's series (Prometheus's
/// Go middleware, Node/Express, Python, Micrometer `status`, OpenTelemetry's old and
/// current semantic conventions).
pub(crate) const STATUS_LABELS: [&str; 5] = [
    "code",
    "status",
    "status_code",
    "http_status_code",
    "http_response_status_code",
];

const CODE_CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];
const OTHER: usize = 5;

/// What one poll derived, and what the status page and the log say about it.
#[derive(Debug, Default)]
pub(crate) struct Derived {
    pub families: Vec<MetricFamily>,
    pub notes: Vec<SourceNote>,
}

impl Derived {
    fn note(&mut self, text: String, problem: bool) {
        self.notes.push(SourceNote {
            topic: "signals",
            text,
            problem,
        });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Configured,
    Detected,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Configured => "configured",
            Origin::Detected => "detected",
        }
    }
}

/// Derives the standard series from one poll's families of one app.
pub(crate) fn derive(scraped: &[&MetricFamily], config: &SignalsConfig) -> Derived {
    let mut out = Derived::default();
    let latency = latency(scraped, config, &mut out);
    requests(scraped, config, latency, &mut out);
    queues(scraped, config, &mut out);
    out
}

// ---------------------------------------------------------------- latency

/// Resolves and derives the latency histogram; returns the family name used (or the
/// configured one), which the requests fallback may read `_count` from.
fn latency<'a>(
    scraped: &[&'a MetricFamily],
    config: &'a SignalsConfig,
    out: &mut Derived,
) -> Option<&'a str> {
    let (name, origin, unit) = match &config.latency {
        Some(l) => (l.histogram.as_str(), Origin::Configured, l.unit),
        None if config.detect => match detect_latency(scraped, &[MetricType::Histogram]) {
            Some(name) => (name, Origin::Detected, None),
            None => {
                // A summary under a known name (Micrometer's default) is the usual
                // reason; saying so saves a trip to the docs.
                let text = match detect_latency(scraped, &[MetricType::Summary]) {
                    Some(summary) => format!(
                        "latency: no known histogram found; {summary} is a summary, whose quantiles cannot be summed across series (expose it as a histogram)"
                    ),
                    None => {
                        "latency: no known histogram found (set signals.latency.histogram)".into()
                    }
                };
                out.note(text, false);
                return None;
            }
        },
        None => return None,
    };
    let families: Vec<&MetricFamily> = named(scraped, name)
        .filter(|f| f.kind == MetricType::Histogram)
        .collect();
    let Some(first) = families.first() else {
        let text = match named(scraped, name).next() {
            Some(f) if f.kind == MetricType::Summary => format!(
                "latency: {name} is a summary, not a histogram: a summary's quantiles cannot be summed across series; expose a histogram"
            ),
            Some(f) => format!("latency: {name} is a {}, not a histogram", f.kind),
            None => format!("latency: {name} is not in the scrape"),
        };
        out.note(text, true);
        return Some(name);
    };
    let Some(unit) = unit.or_else(|| unit_of(first)) else {
        out.note(
            format!(
                "latency: the unit of {name} is unknown; set signals.latency.unit (s, ms or us)"
            ),
            true,
        );
        return Some(name);
    };
    if app_exposes(
        scraped,
        LATENCY_FAMILY,
        &["_bucket", "_sum", "_count", "_created"],
    ) {
        out.note(
            format!("latency: not derived: the app exposes {LATENCY_FAMILY} itself"),
            false,
        );
        return Some(name);
    }
    match aggregate_histogram(&families, unit) {
        Some(family) => {
            out.note(
                format!("latency: {name} ({}, {})", unit.as_str(), origin.as_str()),
                false,
            );
            out.families.push(family);
        }
        None => out.note(
            format!("latency: {name} has no series with a +Inf bucket or a _count"),
            true,
        ),
    }
    Some(name)
}

/// The first family of `kinds` named in `LATENCY_NAMES`, else the first ending in one of
/// `LATENCY_SUFFIXES`.
fn detect_latency<'a>(scraped: &[&'a MetricFamily], kinds: &[MetricType]) -> Option<&'a str> {
    let fits = |f: &&&MetricFamily| kinds.contains(&f.kind);
    for want in LATENCY_NAMES {
        if let Some(f) = scraped.iter().filter(fits).find(|f| f.name == want) {
            return Some(&f.name);
        }
    }
    scraped
        .iter()
        .filter(fits)
        .find(|f| LATENCY_SUFFIXES.iter().any(|s| f.name.ends_with(s)))
        .map(|f| f.name.as_str())
}

fn named<'a, 'b>(
    scraped: &'b [&'a MetricFamily],
    name: &'b str,
) -> impl Iterator<Item = &'a MetricFamily> + 'b {
    scraped.iter().copied().filter(move |f| f.name == name)
}

/// The unit from OpenMetrics UNIT metadata, else from the name's suffix.
fn unit_of(family: &MetricFamily) -> Option<TimeUnit> {
    let from_word = |w: &str| match w {
        "seconds" => Some(TimeUnit::Seconds),
        "milliseconds" | "ms" => Some(TimeUnit::Milliseconds),
        "microseconds" | "us" => Some(TimeUnit::Microseconds),
        _ => None,
    };
    from_word(&family.unit).or_else(|| {
        family
            .name
            .rsplit_once('_')
            .and_then(|(_, suffix)| from_word(suffix))
    })
}

/// One histogram series (one label set of one family) while summing.
#[derive(Debug, Default)]
struct HistogramSeries {
    /// (finite bound, cumulative count)
    buckets: Vec<(f64, f64)>,
    inf: Option<f64>,
    sum: Option<f64>,
    count: Option<f64>,
}

impl HistogramSeries {
    /// The `+Inf` bucket, or `_count` where it is missing (equal by definition).
    fn total(&self) -> Option<f64> {
        self.inf.or(self.count)
    }
}

/// Sums every series of `families` (one histogram, perhaps from several endpoints) into
/// one histogram in seconds; `None` when no series is usable.
fn aggregate_histogram(families: &[&MetricFamily], unit: TimeUnit) -> Option<MetricFamily> {
    // Keyed by (family index, labels without `le`, sorted): equal label sets from two
    // endpoints are two series.
    let mut series: BTreeMap<(usize, Labels), HistogramSeries> = BTreeMap::new();
    for (i, f) in families.iter().enumerate() {
        let bucket = format!("{}_bucket", f.name);
        let sum = format!("{}_sum", f.name);
        let count = format!("{}_count", f.name);
        for s in &f.samples {
            if s.value.is_nan() {
                continue;
            }
            let mut key: Labels = s
                .labels
                .iter()
                .filter(|(k, _)| k != "le")
                .cloned()
                .collect();
            key.sort();
            if s.name == bucket {
                let Some(le) = label(s, "le").and_then(parse_bound) else {
                    continue;
                };
                let entry = series.entry((i, key)).or_default();
                if le == f64::INFINITY {
                    entry.inf = Some(s.value);
                } else {
                    entry.buckets.push((le, s.value));
                }
            } else if s.name == sum {
                series.entry((i, key)).or_default().sum = Some(s.value);
            } else if s.name == count {
                series.entry((i, key)).or_default().count = Some(s.value);
            }
        }
    }
    let usable: Vec<&HistogramSeries> = series.values().filter(|s| s.total().is_some()).collect();
    let (first, rest) = usable.split_first()?;
    let mut bounds: Vec<f64> = first.buckets.iter().map(|(b, _)| *b).collect();
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    for s in rest {
        bounds.retain(|b| s.buckets.iter().any(|(x, _)| x == b));
    }
    let mut family = MetricFamily::new(
        LATENCY_FAMILY,
        MetricType::Histogram,
        "Request latency of the app in seconds: its own latency histogram, summed over its labels (see docs/apps.md, golden signals).",
    );
    family.unit = "seconds".to_owned();
    let bucket_name = format!("{LATENCY_FAMILY}_bucket");
    for b in &bounds {
        let v: f64 = usable
            .iter()
            .filter_map(|s| s.buckets.iter().find(|(x, _)| x == b).map(|(_, v)| *v))
            .sum();
        family.samples.push(sample(
            &bucket_name,
            labels(&[("le", &format_bound(to_seconds_exact(*b, unit)))]),
            v,
        ));
    }
    let total: f64 = usable.iter().filter_map(|s| s.total()).sum();
    family
        .samples
        .push(sample(&bucket_name, labels(&[("le", "+Inf")]), total));
    // A sum only when every series has one: a partial one would skew the mean.
    if usable.iter().all(|s| s.sum.is_some()) {
        let sum: f64 = usable.iter().filter_map(|s| s.sum).sum();
        family.samples.push(sample(
            &format!("{LATENCY_FAMILY}_sum"),
            Vec::new(),
            sum / 10f64.powi(unit.decimal_shift()),
        ));
    }
    let count: f64 = usable.iter().filter_map(|s| s.count.or(s.inf)).sum();
    family.samples.push(sample(
        &format!("{LATENCY_FAMILY}_count"),
        Vec::new(),
        count,
    ));
    Some(family)
}

fn sample(name: &str, labels: Labels, value: f64) -> Sample {
    Sample {
        name: name.to_owned(),
        labels,
        value,
        timestamp_ms: None,
    }
}

fn label<'a>(s: &'a Sample, name: &str) -> Option<&'a str> {
    s.labels
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// An `le` value as Prometheus reads it; NaN is no bound.
fn parse_bound(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| !v.is_nan())
}

/// `value` (in `unit`) in seconds, computed by moving the decimal point of its shortest
/// representation, so that `5` ms is exactly the double nearest 0.005 (dividing by 1000
/// can land one unit in the last place off, and `le` is compared as text downstream).
fn to_seconds_exact(value: f64, unit: TimeUnit) -> f64 {
    let shift = unit.decimal_shift();
    if shift == 0 || !value.is_finite() {
        return value;
    }
    let scientific = format!("{value:e}");
    scientific
        .split_once('e')
        .and_then(|(mantissa, exp)| {
            let exp: i32 = exp.parse().ok()?;
            format!("{mantissa}e{}", exp - shift).parse().ok()
        })
        .unwrap_or(value / 10f64.powi(shift))
}

/// A bound as Go's client writes it (`strconv.FormatFloat(v, 'g', -1, 64)`): shortest
/// digits, exponent form below 1e-4 and from 1e6 (`1e-05`, `1e+06`), `+Inf`.
fn format_bound(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let scientific = format!("{v:e}");
    let Some((mantissa, exp)) = scientific.split_once('e') else {
        return v.to_string();
    };
    match exp.parse::<i32>() {
        Ok(exp) if !(-4..6).contains(&exp) => {
            let sign = if exp < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
        }
        _ => v.to_string(),
    }
}

// ---------------------------------------------------------------- requests

fn counter_base(name: &str) -> &str {
    name.strip_suffix("_total").unwrap_or(name)
}

/// Counters and untyped families whose name is `name` with or without `_total`.
fn is_counter_named(f: &MetricFamily, name: &str) -> bool {
    matches!(f.kind, MetricType::Counter | MetricType::Unknown)
        && counter_base(&f.name) == counter_base(name)
}

/// The samples of a counter-like family that carry its value (not `_created`).
fn counter_values(f: &MetricFamily) -> impl Iterator<Item = &Sample> {
    let created = format!("{}_created", f.name);
    f.samples.iter().filter(move |s| s.name != created)
}

/// The first counter named in `REQUEST_NAMES`, else the first ending in one of
/// `REQUEST_SUFFIXES`; as `<base>_total`.
fn detect_counter(scraped: &[&MetricFamily]) -> Option<String> {
    for want in REQUEST_NAMES {
        if scraped.iter().any(|f| is_counter_named(f, want)) {
            return Some(want.to_owned());
        }
    }
    scraped
        .iter()
        .filter(|f| matches!(f.kind, MetricType::Counter | MetricType::Unknown))
        .map(|f| format!("{}_total", counter_base(&f.name)))
        .find(|n| REQUEST_SUFFIXES.iter().any(|s| n.ends_with(s)))
}

/// The configured status label, else the first of `STATUS_LABELS` on any of `samples`.
fn status_label<'a>(configured: Option<&'a str>, samples: &[&Sample]) -> Option<&'a str> {
    let present = |l: &str| samples.iter().any(|s| label(s, l).is_some());
    match configured {
        Some(l) => present(l).then_some(l),
        None => STATUS_LABELS.into_iter().find(|l| present(l)),
    }
}

fn requests(
    scraped: &[&MetricFamily],
    config: &SignalsConfig,
    latency: Option<&str>,
    out: &mut Derived,
) {
    let r = &config.requests;
    // (what the note calls the source, its value samples, origin)
    let (what, samples, origin): (String, Vec<&Sample>, &str) = match &r.counter {
        Some(name) => {
            let families: Vec<&MetricFamily> = scraped
                .iter()
                .copied()
                .filter(|f| is_counter_named(f, name))
                .collect();
            if families.is_empty() {
                let base = counter_base(name);
                let text = match scraped.iter().find(|f| counter_base(&f.name) == base) {
                    Some(f) => format!("requests: {name} is a {}, not a counter", f.kind),
                    None => format!("requests: {name} is not in the scrape"),
                };
                out.note(text, true);
                return;
            }
            let samples = families.iter().flat_map(|f| counter_values(f)).collect();
            (name.clone(), samples, Origin::Configured.as_str())
        }
        None if config.detect => match detect_counter(scraped) {
            Some(name) => {
                let samples = (scraped.iter())
                    .filter(|f| is_counter_named(f, &name))
                    .flat_map(|f| counter_values(f))
                    .collect();
                (name, samples, Origin::Detected.as_str())
            }
            None => match count_fallback(scraped, latency, r.status_label.as_deref()) {
                Some((name, samples)) => (
                    format!("{name}_count"),
                    samples,
                    "detected, no request counter",
                ),
                None => {
                    out.note(
                        "requests: no known request counter found (set signals.requests.counter)"
                            .into(),
                        false,
                    );
                    return;
                }
            },
        },
        None => return,
    };
    let status = status_label(r.status_label.as_deref(), &samples);
    let mut text = format!("requests: {what} ({origin})");
    let mut problem = false;
    match (status, &r.status_label) {
        (Some(l), _) => text.push_str(&format!(
            ", by {l}; errors: {l} matching {}",
            r.errors.pattern
        )),
        (None, Some(l)) => {
            text.push_str(&format!(
                "; status label {l} is on none of its series, so errors are not derived"
            ));
            problem = true;
        }
        (None, None) => text.push_str(&format!(
            "; no status label ({}), so errors are not derived",
            STATUS_LABELS.join(", ")
        )),
    }
    let (classes, errors) = sum_requests(&samples, status, &r.errors);
    let clash_requests = app_exposes(scraped, REQUESTS_FAMILY, &["_total", "_created"]);
    let clash_errors = app_exposes(scraped, ERRORS_FAMILY, &["_total", "_created"]);
    if clash_requests || clash_errors {
        let names: Vec<String> = [
            (clash_requests, REQUESTS_FAMILY),
            (clash_errors, ERRORS_FAMILY),
        ]
        .into_iter()
        .filter(|(c, _)| *c)
        .map(|(_, n)| format!("{n}_total"))
        .collect();
        text.push_str(&format!(
            "; not derived: the app exposes {} itself",
            names.join(" and ")
        ));
    }
    out.note(text, problem);
    if !clash_requests && classes.iter().any(Option::is_some) {
        let mut family = MetricFamily::counter(
            REQUESTS_FAMILY,
            "Requests the app served, by status class (1xx-5xx, other): its own request counter, summed over its labels (see docs/apps.md, golden signals).",
        );
        for (class, value) in CODE_CLASSES.iter().zip(classes) {
            if let Some(v) = value {
                family.push(labels(&[("code_class", class)]), v);
            }
        }
        out.families.push(family);
    }
    if let (false, Some(errors)) = (clash_errors, errors) {
        out.families.push(
            MetricFamily::counter(
                ERRORS_FAMILY,
                "Requests the app answered with an error status (signals.requests.errors, default 5xx), summed over its labels.",
            )
            .with_value(errors),
        );
    }
}

/// With no request counter: the latency family's `_count` samples (a histogram's or a
/// summary's) when they carry a status label, as Micrometer's do.
fn count_fallback<'a>(
    scraped: &[&'a MetricFamily],
    latency: Option<&'a str>,
    configured_status: Option<&str>,
) -> Option<(&'a str, Vec<&'a Sample>)> {
    let kinds = [MetricType::Histogram, MetricType::Summary];
    let name = latency.or_else(|| detect_latency(scraped, &kinds))?;
    let count = format!("{name}_count");
    let samples: Vec<&Sample> = named(scraped, name)
        .filter(|f| kinds.contains(&f.kind))
        .flat_map(|f| f.samples.iter())
        .filter(|s| s.name == count)
        .collect();
    status_label(configured_status, &samples)?;
    Some((name, samples))
}

/// Sums per status class (`None`: no sample in that class) and the errors (`None`
/// without a status label).
fn sum_requests(
    samples: &[&Sample],
    status: Option<&str>,
    errors: &StatusMatcher,
) -> ([Option<f64>; 6], Option<f64>) {
    let mut classes = [None; 6];
    let mut error_sum = status.map(|_| 0.0);
    for s in samples.iter().filter(|s| !s.value.is_nan()) {
        let value = status.and_then(|l| label(s, l));
        let class = value.map_or(OTHER, code_class);
        let slot: &mut Option<f64> = &mut classes[class];
        *slot = Some(slot.unwrap_or(0.0) + s.value);
        if let (Some(sum), Some(v)) = (error_sum.as_mut(), value) {
            if errors.is_match(v) {
                *sum += s.value;
            }
        }
    }
    (classes, error_sum)
}

/// Index into `CODE_CLASSES`: `503` and `5xx` → 5xx; anything else → other.
fn code_class(status: &str) -> usize {
    match status.as_bytes() {
        [d @ b'1'..=b'5', a, b]
            if (a.is_ascii_digit() && b.is_ascii_digit())
                || (a.eq_ignore_ascii_case(&b'x') && b.eq_ignore_ascii_case(&b'x')) =>
        {
            usize::from(d - b'1')
        }
        _ => OTHER,
    }
}

// ---------------------------------------------------------------- queues

fn queues(scraped: &[&MetricFamily], config: &SignalsConfig, out: &mut Derived) {
    if config.queues.is_empty() {
        return;
    }
    if app_exposes(scraped, QUEUE_DEPTH, &[]) {
        out.note(
            format!("queues: not derived: the app exposes {QUEUE_DEPTH} itself"),
            false,
        );
        return;
    }
    let mut depth: BTreeMap<(String, &str), f64> = BTreeMap::new();
    for q in &config.queues {
        let families: Vec<&MetricFamily> = named(scraped, &q.gauge)
            .filter(|f| matches!(f.kind, MetricType::Gauge | MetricType::Unknown))
            .collect();
        if families.is_empty() {
            let text = match named(scraped, &q.gauge).next() {
                Some(f) => format!("queue: {} is a {}, not a gauge", q.gauge, f.kind),
                None => format!("queue: {} is not in the scrape", q.gauge),
            };
            out.note(text, true);
            continue;
        }
        let mut unlabelled = 0;
        let mut names: Vec<&str> = Vec::new();
        for s in families.iter().flat_map(|f| f.samples.iter()) {
            if s.value.is_nan() {
                continue;
            }
            let queue = match &q.queue {
                QueueName::Fixed(n) => n.as_str(),
                QueueName::Label(l) => match label(s, l) {
                    Some(v) => v,
                    None => {
                        unlabelled += 1;
                        continue;
                    }
                },
            };
            if !names.contains(&queue) {
                names.push(queue);
            }
            *depth.entry((queue.to_owned(), &q.state)).or_insert(0.0) += s.value;
        }
        let (how, left_out) = match &q.queue {
            QueueName::Fixed(n) => (format!("as queue {n}"), String::new()),
            QueueName::Label(l) => (
                format!("by label {l} ({} queues)", names.len()),
                if unlabelled > 0 {
                    format!("; {unlabelled} series without {l} left out")
                } else {
                    String::new()
                },
            ),
        };
        out.note(
            format!(
                "queue: {} {how}, state {} (configured){left_out}",
                q.gauge, q.state
            ),
            !left_out.is_empty(),
        );
    }
    if depth.is_empty() {
        return;
    }
    let mut family = MetricFamily::gauge(QUEUE_DEPTH, QUEUE_DEPTH_HELP);
    for ((queue, state), v) in depth {
        family.push(
            labels(&[("queue", &queue), ("state", state), ("library", "app")]),
            v,
        );
    }
    out.families.push(family);
}

// ---------------------------------------------------------------- clashes

/// Whether the app's own families use `name`, bare or with one of `suffixes`: ours
/// would then clash with the app's in the output. Family names suffice: the parser
/// puts every sample in a family whose name is a prefix of the sample's, and an app
/// sample `name` + suffix is either in a family of that whole name or in one named
/// `name`.
fn app_exposes(scraped: &[&MetricFamily], name: &str, suffixes: &[&str]) -> bool {
    scraped.iter().any(|f| {
        f.name
            .strip_prefix(name)
            .is_some_and(|rest| rest.is_empty() || suffixes.contains(&rest))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LatencySignal, QueueSignal, RequestsSignal};
    use crate::exposition::parse::{parse, ParseLimits};
    use crate::exposition::Format;

    fn classic(body: &str) -> Vec<MetricFamily> {
        parse(body.as_bytes(), Format::Classic, &ParseLimits::default()).unwrap()
    }

    fn config() -> SignalsConfig {
        SignalsConfig {
            latency: None,
            requests: RequestsSignal {
                counter: None,
                status_label: None,
                errors: StatusMatcher::new(StatusMatcher::DEFAULT_ERRORS, 1 << 20).unwrap(),
            },
            queues: Vec::new(),
            detect: true,
        }
    }

    fn run(families: &[MetricFamily], config: &SignalsConfig) -> Derived {
        let refs: Vec<&MetricFamily> = families.iter().collect();
        derive(&refs, config)
    }

    /// Every derived sample as `name{k="v",…} value`, in output order.
    fn lines(d: &Derived) -> Vec<String> {
        d.families
            .iter()
            .flat_map(|f| f.samples.iter())
            .map(|s| {
                let labels: Vec<String> = s
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{v}\""))
                    .collect();
                format!("{}{{{}}} {}", s.name, labels.join(","), s.value)
            })
            .collect()
    }

    fn notes(d: &Derived) -> Vec<(String, bool)> {
        d.notes
            .iter()
            .map(|n| (n.text.clone(), n.problem))
            .collect()
    }

    const NODE_APP: &str = r#"# HELP synckairos_http_request_duration_ms Request duration in ms.
# TYPE synckairos_http_request_duration_ms histogram
synckairos_http_request_duration_ms_bucket{le="5",route="/a",status_code="200"} 1
synckairos_http_request_duration_ms_bucket{le="10",route="/a",status_code="200"} 3
synckairos_http_request_duration_ms_bucket{le="+Inf",route="/a",status_code="200"} 4
synckairos_http_request_duration_ms_sum{route="/a",status_code="200"} 120
synckairos_http_request_duration_ms_count{route="/a",status_code="200"} 4
synckairos_http_request_duration_ms_bucket{le="5",route="/b",status_code="500"} 0
synckairos_http_request_duration_ms_bucket{le="10",route="/b",status_code="500"} 1
synckairos_http_request_duration_ms_bucket{le="+Inf",route="/b",status_code="500"} 2
synckairos_http_request_duration_ms_sum{route="/b",status_code="500"} 2500
synckairos_http_request_duration_ms_count{route="/b",status_code="500"} 2
# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="GET",status="200"} 10
http_requests_total{method="POST",status="201"} 2
http_requests_total{method="GET",status="404"} 3
http_requests_total{method="GET",status="500"} 1
http_requests_total{method="POST",status="503"} 4
http_requests_total{method="GET",status="unknown"} 7
# HELP jobs_waiting Jobs waiting.
# TYPE jobs_waiting gauge
jobs_waiting{queue="emails",worker="a"} 3
jobs_waiting{queue="emails",worker="b"} 2
jobs_waiting{queue="sms",worker="a"} 1
jobs_waiting{worker="c"} 9
# HELP email_backlog Backlog.
# TYPE email_backlog gauge
email_backlog 4
"#;

    #[test]
    fn milliseconds_are_converted_and_series_summed() {
        let d = run(&classic(NODE_APP), &config());
        let all = lines(&d);
        let latency: Vec<&str> = all
            .iter()
            .filter(|l| l.starts_with(LATENCY_FAMILY))
            .map(String::as_str)
            .collect();
        assert_eq!(
            latency,
            [
                "stack_request_duration_seconds_bucket{le=\"0.005\"} 1",
                "stack_request_duration_seconds_bucket{le=\"0.01\"} 4",
                "stack_request_duration_seconds_bucket{le=\"+Inf\"} 6",
                "stack_request_duration_seconds_sum{} 2.62",
                "stack_request_duration_seconds_count{} 6",
            ]
        );
        assert_eq!(d.families[0].kind, MetricType::Histogram);
        assert_eq!(d.families[0].unit, "seconds");
        assert!(notes(&d).contains(&(
            "latency: synckairos_http_request_duration_ms (ms, detected)".to_owned(),
            false
        )));
    }

    #[test]
    fn requests_by_code_class_and_errors() {
        let d = run(&classic(NODE_APP), &config());
        let all = lines(&d);
        let requests: Vec<&str> = all
            .iter()
            .filter(|l| l.starts_with("stack_request"))
            .filter(|l| !l.starts_with(LATENCY_FAMILY))
            .map(String::as_str)
            .collect();
        assert_eq!(
            requests,
            [
                "stack_requests_total{code_class=\"2xx\"} 12",
                "stack_requests_total{code_class=\"4xx\"} 3",
                "stack_requests_total{code_class=\"5xx\"} 5",
                "stack_requests_total{code_class=\"other\"} 7",
                "stack_request_errors_total{} 5",
            ]
        );
        assert!(notes(&d).contains(&(
            "requests: http_requests_total (detected), by status; errors: status matching 5.."
                .to_owned(),
            false
        )));
    }

    #[test]
    fn code_classes() {
        let class = |s: &str| CODE_CLASSES[code_class(s)];
        for (status, want) in [
            ("100", "1xx"),
            ("200", "2xx"),
            ("204", "2xx"),
            ("302", "3xx"),
            ("429", "4xx"),
            ("503", "5xx"),
            ("599", "5xx"),
            ("5xx", "5xx"),
            ("2XX", "2xx"),
            ("600", "other"),
            ("099", "other"),
            ("20", "other"),
            ("2000", "other"),
            ("", "other"),
            ("OK", "other"),
            ("5x1", "other"),
        ] {
            assert_eq!(class(status), want, "{status}");
        }
    }

    #[test]
    fn error_regex_is_a_full_match() {
        let body = "# TYPE http_requests_total counter\n\
                    http_requests_total{code=\"200\"} 1\n\
                    http_requests_total{code=\"429\"} 2\n\
                    http_requests_total{code=\"500\"} 4\n\
                    http_requests_total{code=\"5000\"} 8\n";
        let errors_for = |pattern: &str| {
            let mut c = config();
            c.requests.errors = StatusMatcher::new(pattern, 1 << 20).unwrap();
            let d = run(&classic(body), &c);
            let f = d.families.iter().find(|f| f.name == ERRORS_FAMILY).unwrap();
            f.samples[0].value
        };
        assert_eq!(errors_for("5.."), 4.0, "5000 is not 5..");
        assert_eq!(errors_for("5..|429"), 6.0);
        assert_eq!(errors_for("50"), 0.0, "anchored: 50 does not match 500");
        assert_eq!(errors_for("[45].*"), 14.0);
    }

    #[test]
    fn detection_order() {
        // An exact name beats an earlier prefixed one; summaries are skipped.
        let body = "# TYPE app_http_request_duration_ms histogram\n\
                    app_http_request_duration_ms_bucket{le=\"+Inf\"} 1\n\
                    app_http_request_duration_ms_count 1\n\
                    # TYPE http_server_requests_seconds histogram\n\
                    http_server_requests_seconds_bucket{le=\"+Inf\"} 1\n\
                    http_server_requests_seconds_count 1\n\
                    # TYPE http_request_duration_seconds summary\n\
                    http_request_duration_seconds_sum 1\n\
                    http_request_duration_seconds_count 1\n";
        let f = classic(body);
        let refs: Vec<&MetricFamily> = f.iter().collect();
        assert_eq!(
            detect_latency(&refs, &[MetricType::Histogram]),
            Some("http_server_requests_seconds")
        );
        assert_eq!(
            detect_latency(&refs[..1], &[MetricType::Histogram]),
            Some("app_http_request_duration_ms")
        );
        assert_eq!(
            detect_latency(&refs[2..], &[MetricType::Histogram]),
            None,
            "a summary is not detected as latency"
        );
        let body = "# TYPE shop_http_requests_total counter\n\
                    shop_http_requests_total{status_code=\"200\",code=\"x\"} 1\n\
                    # TYPE requests_total counter\n\
                    requests_total 1\n";
        let f = classic(body);
        let refs: Vec<&MetricFamily> = f.iter().collect();
        assert_eq!(detect_counter(&refs).as_deref(), Some("requests_total"));
        assert_eq!(
            detect_counter(&refs[..1]).as_deref(),
            Some("shop_http_requests_total")
        );
        // `code` comes before `status_code` in the list.
        let samples: Vec<&Sample> = refs[0].samples.iter().collect();
        assert_eq!(status_label(None, &samples), Some("code"));
        assert_eq!(
            status_label(Some("status_code"), &samples),
            Some("status_code")
        );
        assert_eq!(status_label(Some("status"), &samples), None);
    }

    #[test]
    fn go_style_app_is_detected() {
        let body = "# TYPE http_request_duration_seconds histogram\n\
                    http_request_duration_seconds_bucket{handler=\"/\",le=\"0.1\"} 5\n\
                    http_request_duration_seconds_bucket{handler=\"/\",le=\"1\"} 6\n\
                    http_request_duration_seconds_bucket{handler=\"/\",le=\"+Inf\"} 6\n\
                    http_request_duration_seconds_sum{handler=\"/\"} 0.75\n\
                    http_request_duration_seconds_count{handler=\"/\"} 6\n\
                    # TYPE http_requests_total counter\n\
                    http_requests_total{code=\"200\",handler=\"/\"} 5\n\
                    http_requests_total{code=\"502\",handler=\"/\"} 1\n";
        let d = run(&classic(body), &config());
        assert_eq!(
            lines(&d),
            [
                "stack_request_duration_seconds_bucket{le=\"0.1\"} 5",
                "stack_request_duration_seconds_bucket{le=\"1\"} 6",
                "stack_request_duration_seconds_bucket{le=\"+Inf\"} 6",
                "stack_request_duration_seconds_sum{} 0.75",
                "stack_request_duration_seconds_count{} 6",
                "stack_requests_total{code_class=\"2xx\"} 5",
                "stack_requests_total{code_class=\"5xx\"} 1",
                "stack_request_errors_total{} 1",
            ]
        );
        assert_eq!(
            notes(&d),
            [
                (
                    "latency: http_request_duration_seconds (s, detected)".to_owned(),
                    false
                ),
                (
                    "requests: http_requests_total (detected), by code; errors: code matching 5.."
                        .to_owned(),
                    false
                ),
            ]
        );
    }

    #[test]
    fn only_common_bounds_are_kept_and_inf_falls_back_to_count() {
        let body = "# TYPE x_http_request_duration_seconds histogram\n\
                    x_http_request_duration_seconds_bucket{r=\"a\",le=\"0.1\"} 1\n\
                    x_http_request_duration_seconds_bucket{r=\"a\",le=\"0.5\"} 2\n\
                    x_http_request_duration_seconds_bucket{r=\"a\",le=\"+Inf\"} 3\n\
                    x_http_request_duration_seconds_count{r=\"a\"} 3\n\
                    x_http_request_duration_seconds_bucket{r=\"b\",le=\"0.1\"} 10\n\
                    x_http_request_duration_seconds_bucket{r=\"b\",le=\"0.25\"} 20\n\
                    x_http_request_duration_seconds_count{r=\"b\"} 30\n\
                    x_http_request_duration_seconds_bucket{r=\"c\",le=\"0.1\"} NaN\n\
                    x_http_request_duration_seconds_bucket{r=\"d\",le=\"0.1\"} 5\n";
        let d = run(&classic(body), &config());
        // c (NaN only) and d (no +Inf, no _count) are left out; b's +Inf is its count;
        // no _sum since not every series has one.
        assert_eq!(
            lines(&d),
            [
                "stack_request_duration_seconds_bucket{le=\"0.1\"} 11",
                "stack_request_duration_seconds_bucket{le=\"+Inf\"} 33",
                "stack_request_duration_seconds_count{} 33",
            ]
        );
    }

    #[test]
    fn bounds_move_their_decimal_point() {
        let ms = TimeUnit::Milliseconds;
        let us = TimeUnit::Microseconds;
        assert_eq!(to_seconds_exact(5.0, ms), 0.005);
        assert_eq!(to_seconds_exact(0.1, ms), 0.0001);
        assert_eq!(to_seconds_exact(2.5, ms), 0.0025);
        assert_eq!(to_seconds_exact(10000.0, ms), 10.0);
        assert_eq!(to_seconds_exact(250.0, us), 0.00025);
        assert_eq!(to_seconds_exact(0.3, TimeUnit::Seconds), 0.3);
        for (v, want) in [
            (0.005, "0.005"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000025, "2.5e-05"),
            (1.0, "1"),
            (2.5, "2.5"),
            (10.0, "10"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
            (1.5e7, "1.5e+07"),
            (f64::INFINITY, "+Inf"),
        ] {
            assert_eq!(format_bound(v), want, "{v}");
        }
    }

    #[test]
    fn units() {
        let mut f = MetricFamily::new("latency", MetricType::Histogram, "");
        assert_eq!(unit_of(&f), None);
        f.unit = "milliseconds".into();
        assert_eq!(unit_of(&f), Some(TimeUnit::Milliseconds));
        for (name, unit) in [
            ("a_seconds", TimeUnit::Seconds),
            ("a_ms", TimeUnit::Milliseconds),
            ("a_milliseconds", TimeUnit::Milliseconds),
            ("a_us", TimeUnit::Microseconds),
            ("a_microseconds", TimeUnit::Microseconds),
        ] {
            let f = MetricFamily::new(name, MetricType::Histogram, "");
            assert_eq!(unit_of(&f), Some(unit), "{name}");
        }
        // A configured histogram whose unit cannot be known is reported, not guessed.
        let body = "# TYPE request_latency histogram\n\
                    request_latency_bucket{le=\"+Inf\"} 1\n";
        let mut c = config();
        c.latency = Some(LatencySignal {
            histogram: "request_latency".into(),
            unit: None,
        });
        let d = run(&classic(body), &c);
        assert!(d.families.iter().all(|f| f.name != LATENCY_FAMILY));
        assert!(notes(&d).contains(&(
            "latency: the unit of request_latency is unknown; set signals.latency.unit (s, ms or us)".to_owned(),
            true
        )));
        c.latency = Some(LatencySignal {
            histogram: "request_latency".into(),
            unit: Some(TimeUnit::Microseconds),
        });
        let d = run(&classic(body), &c);
        assert_eq!(
            lines(&d)[..2],
            [
                "stack_request_duration_seconds_bucket{le=\"+Inf\"} 1",
                "stack_request_duration_seconds_count{} 1",
            ]
        );
    }

    #[test]
    fn configured_names_and_problems() {
        let body = "# TYPE rpc_seconds summary\n\
                    rpc_seconds{quantile=\"0.5\"} 0.1\n\
                    rpc_seconds_sum 1\n\
                    rpc_seconds_count 10\n\
                    # TYPE calls counter\n\
                    calls{status=\"200\"} 4\n\
                    # TYPE depth gauge\n\
                    depth 3\n";
        let mut c = config();
        c.latency = Some(LatencySignal {
            histogram: "rpc_seconds".into(),
            unit: None,
        });
        // Without `_total` in the config, for a bare classic counter.
        c.requests.counter = Some("calls_total".into());
        c.queues = vec![QueueSignal {
            gauge: "missing_gauge".into(),
            queue: QueueName::Fixed("q".into()),
            state: "waiting".into(),
        }];
        let d = run(&classic(body), &c);
        assert_eq!(
            lines(&d),
            [
                "stack_requests_total{code_class=\"2xx\"} 4",
                "stack_request_errors_total{} 0"
            ]
        );
        assert_eq!(
            notes(&d),
            [
                ("latency: rpc_seconds is a summary, not a histogram: a summary's quantiles cannot be summed across series; expose a histogram".to_owned(), true),
                ("requests: calls_total (configured), by status; errors: status matching 5..".to_owned(), false),
                ("queue: missing_gauge is not in the scrape".to_owned(), true),
            ]
        );

        c.latency = Some(LatencySignal {
            histogram: "nope_seconds".into(),
            unit: None,
        });
        c.requests.counter = Some("depth".into());
        c.requests.status_label = Some("code".into());
        c.queues.clear();
        let d = run(&classic(body), &c);
        assert!(d.families.is_empty(), "{:?}", lines(&d));
        assert_eq!(
            notes(&d),
            [
                (
                    "latency: nope_seconds is not in the scrape".to_owned(),
                    true
                ),
                ("requests: depth is a gauge, not a counter".to_owned(), true),
            ]
        );

        // A configured status label that no series has: requests as `other`, no errors.
        c.latency = None;
        c.requests.counter = Some("calls".into());
        let d = run(&classic(body), &c);
        assert_eq!(lines(&d), ["stack_requests_total{code_class=\"other\"} 4"]);
        assert!(d.notes.iter().any(|n| n.problem
            && n.text
                == "requests: calls (configured); status label code is on none of its series, so errors are not derived"));
    }

    #[test]
    fn nothing_found_derives_nothing() {
        let body = "# TYPE temperature gauge\ntemperature 21\n";
        let d = run(&classic(body), &config());
        assert!(d.families.is_empty());
        assert_eq!(
            notes(&d),
            [
                (
                    "latency: no known histogram found (set signals.latency.histogram)".to_owned(),
                    false
                ),
                (
                    "requests: no known request counter found (set signals.requests.counter)"
                        .to_owned(),
                    false
                ),
            ]
        );
        let mut c = config();
        c.detect = false;
        let d = run(&classic(NODE_APP), &c);
        assert!(d.families.is_empty() && d.notes.is_empty());
    }

    #[test]
    fn micrometer_count_by_status_gives_requests() {
        // Spring's default: a summary with a `status` label and no request counter.
        let body = "# TYPE http_server_requests_seconds summary\n\
                    http_server_requests_seconds_count{method=\"GET\",status=\"200\",uri=\"/a\"} 7\n\
                    http_server_requests_seconds_sum{method=\"GET\",status=\"200\",uri=\"/a\"} 0.7\n\
                    http_server_requests_seconds_count{method=\"GET\",status=\"500\",uri=\"/a\"} 2\n\
                    http_server_requests_seconds_sum{method=\"GET\",status=\"500\",uri=\"/a\"} 0.2\n";
        let d = run(&classic(body), &config());
        assert_eq!(
            lines(&d),
            [
                "stack_requests_total{code_class=\"2xx\"} 7",
                "stack_requests_total{code_class=\"5xx\"} 2",
                "stack_request_errors_total{} 2",
            ]
        );
        assert_eq!(
            notes(&d),
            [
                ("latency: no known histogram found; http_server_requests_seconds is a summary, whose quantiles cannot be summed across series (expose it as a histogram)".to_owned(), false),
                ("requests: http_server_requests_seconds_count (detected, no request counter), by status; errors: status matching 5..".to_owned(), false),
            ]
        );
    }

    #[test]
    fn micrometer_histogram_count_by_status_gives_requests() {
        // With percentiles-histogram on: the histogram gives latency and, by its
        // `status` label, the requests.
        let body = "# TYPE http_server_requests_seconds histogram\n\
                    http_server_requests_seconds_bucket{status=\"200\",le=\"0.1\"} 3\n\
                    http_server_requests_seconds_bucket{status=\"200\",le=\"+Inf\"} 4\n\
                    http_server_requests_seconds_count{status=\"200\"} 4\n\
                    http_server_requests_seconds_sum{status=\"200\"} 0.5\n\
                    http_server_requests_seconds_bucket{status=\"404\",le=\"0.1\"} 1\n\
                    http_server_requests_seconds_bucket{status=\"404\",le=\"+Inf\"} 1\n\
                    http_server_requests_seconds_count{status=\"404\"} 1\n\
                    http_server_requests_seconds_sum{status=\"404\"} 0.01\n";
        let d = run(&classic(body), &config());
        assert_eq!(
            lines(&d),
            [
                "stack_request_duration_seconds_bucket{le=\"0.1\"} 4",
                "stack_request_duration_seconds_bucket{le=\"+Inf\"} 5",
                "stack_request_duration_seconds_sum{} 0.51",
                "stack_request_duration_seconds_count{} 5",
                "stack_requests_total{code_class=\"2xx\"} 4",
                "stack_requests_total{code_class=\"4xx\"} 1",
                "stack_request_errors_total{} 0",
            ]
        );
    }

    #[test]
    fn queue_gauges() {
        let mut c = config();
        c.detect = false;
        c.queues = vec![
            QueueSignal {
                gauge: "jobs_waiting".into(),
                queue: QueueName::Label("queue".into()),
                state: "waiting".into(),
            },
            QueueSignal {
                gauge: "email_backlog".into(),
                queue: QueueName::Fixed("emails".into()),
                state: "waiting".into(),
            },
        ];
        let d = run(&classic(NODE_APP), &c);
        assert_eq!(
            lines(&d),
            [
                "stack_queue_depth{queue=\"emails\",state=\"waiting\",library=\"app\"} 9",
                "stack_queue_depth{queue=\"sms\",state=\"waiting\",library=\"app\"} 1",
            ]
        );
        assert_eq!(
            notes(&d),
            [
                ("queue: jobs_waiting by label queue (2 queues), state waiting (configured); 1 series without queue left out".to_owned(), true),
                ("queue: email_backlog as queue emails, state waiting (configured)".to_owned(), false),
            ]
        );
    }

    #[test]
    fn an_app_exposing_our_names_keeps_them() {
        let body = format!(
            "{NODE_APP}# TYPE stack_request_duration_seconds histogram\n\
             stack_request_duration_seconds_bucket{{le=\"+Inf\"}} 1\n\
             stack_request_duration_seconds_count 1\n\
             # TYPE stack_request_errors_total untyped\n\
             stack_request_errors_total 3\n"
        );
        let d = run(&classic(&body), &config());
        assert_eq!(
            lines(&d),
            [
                "stack_requests_total{code_class=\"2xx\"} 12",
                "stack_requests_total{code_class=\"4xx\"} 3",
                "stack_requests_total{code_class=\"5xx\"} 5",
                "stack_requests_total{code_class=\"other\"} 7",
            ]
        );
        let n = notes(&d);
        assert!(n.contains(&(
            "latency: not derived: the app exposes stack_request_duration_seconds itself"
                .to_owned(),
            false
        )));
        assert!(n.iter().any(|(t, _)| t
            .ends_with("; not derived: the app exposes stack_request_errors_total itself")));
    }

    #[test]
    fn several_endpoints_are_summed() {
        let a =
            classic("# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} 1\n");
        let b =
            classic("# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} 2\n");
        let refs: Vec<&MetricFamily> = a.iter().chain(b.iter()).collect();
        let d = derive(&refs, &config());
        assert_eq!(
            lines(&d),
            [
                "stack_requests_total{code_class=\"2xx\"} 3",
                "stack_request_errors_total{} 0"
            ]
        );
    }
}
