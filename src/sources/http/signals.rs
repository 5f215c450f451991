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
//! | `stack_slow_requests_total` | the latency histogram's requests above the threshold's bound |
//! | `stack_slow_request_bound_seconds` | that bound: the threshold, or the next bound up |
//! | `stack_request_latency_threshold_seconds` | `signals.latency.threshold` |
//! | `stack_app_gauge{gauge}` | the app's gauges listed in `signals.gauges` |
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
//! - **The exporter's own requests are not the app's traffic.** Its scrapes of the
//!   app's `metrics_url` and its probes of the same host would otherwise count as
//!   requests (0.13 requests/s at a 15 s interval, enough to pass an "is there real
//!   traffic" floor on an idle app) and pull latency towards the metrics endpoint's.
//!   Series whose route label (`ROUTE_LABELS`) names one of those paths, or a value of
//!   `signals.exclude_routes`, are left out of every derived sum. A family without any
//!   route label cannot be split; the note says that the exporter's requests may be in
//!   it (FastAPI's `http_request_duration_highr_seconds` has no labels at all).
//! - **Latency that can resolve its threshold.** Quantiles interpolated inside a coarse
//!   bucket are guesses: with buckets 0.1/0.5/1 s every 5 ms request "is" 50 ms at p50
//!   and 95 ms at p95. So detection picks, among the app's latency histograms, the one
//!   with a bucket at the threshold and the most bounds at or below it (then one with a
//!   route label, then the documented name order). The alert does not use a quantile:
//!   `stack_slow_requests_total` counts requests above a real bucket bound, the
//!   threshold itself or, when the histogram has none there, the next bound up (an
//!   alert that may be late, never a false one); when that bound is not the threshold,
//!   the note is a problem, logged at warn, and `Derived::threshold_resolved` is false
//!   (the self-metric `stack_exporter_latency_threshold_resolved` 0).
//! - **Buckets.** Only bounds that every summed series has are kept (`+Inf` always): a
//!   sum at a bound some series lack would not be cumulative. Bounds are converted to
//!   seconds by moving the decimal point (`5` ms → `0.005`, exact, no binary rounding),
//!   and written as Go's client writes them. `_sum` is converted too; counts are not.
//!   A series without a `+Inf` bucket uses its `_count` there (they are equal by
//!   definition); one with neither is left out. NaN samples are left out of every sum.
//! - **Units**: `signals.latency.unit`, else the family's OpenMetrics UNIT, else a unit
//!   word in its name (`_seconds` at the end, or inside as Django's
//!   `…_latency_seconds_by_view_method`). Not knowing it is reported rather than
//!   guessed: a wrong guess is off by 1000.
//! - **Histograms only.** A summary's quantiles cannot be summed across series, so a
//!   configured summary is refused (reported) and detection skips summaries. Its
//!   `_count` by status can still give the request counts (see below).
//! - **Status classes**: `1xx`…`5xx` from a three-digit status 100–599 (or a value
//!   already written `2xx`); `other` for anything else, including a series without the
//!   status label. Errors: statuses the anchored regex `errors` (default `5..`)
//!   matches; without any status label errors are not derived (a 0 would be a lie).
//! - **Fallback for requests**: with no request counter configured or detected, a
//!   latency family's `_count` (histogram or summary, as Micrometer exposes
//!   `http_server_requests_seconds` with a `status` label, and express-prom-bundle its
//!   histogram by `status_code`) gives the requests, when it carries a status label.
//! - **Counters** may be named with or without `_total`; counters and untyped families
//!   qualify (an app without TYPE lines still counts), gauges do not. Queue gauges may
//!   be gauges or untyped. Among several known counters, one with a status label and a
//!   route label wins (Django has five request counters; one has both).
//! - **Name clashes.** If the app itself exposes a family (or samples) under one of
//!   our names, that one signal is not derived and the app's series are served as they
//!   are: re-exposition keeps every app series (docs/apps.md), and an app that already
//!   speaks these names needs no derivation. The note says so.
//! - **Nothing found, nothing derived**: no empty families. A configured family
//!   missing from the scrape (or of the wrong type) is a note marked as a problem on the
//!   status page, never a failed poll.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use crate::config::{GaugeSignal, OwnRequests, QueueName, SignalsConfig, StatusMatcher, TimeUnit};
use crate::model::{labels, Labels, MetricFamily, MetricType, Sample};
use crate::sources::{SourceNote, QUEUE_DEPTH, QUEUE_DEPTH_HELP};

pub(crate) const LATENCY_FAMILY: &str = "stack_request_duration_seconds";
/// A counter family: its samples are `stack_requests_total`.
pub(crate) const REQUESTS_FAMILY: &str = "stack_requests";
/// A counter family: its sample is `stack_request_errors_total`.
pub(crate) const ERRORS_FAMILY: &str = "stack_request_errors";
/// A counter family: its sample is `stack_slow_requests_total`.
pub(crate) const SLOW_FAMILY: &str = "stack_slow_requests";
pub(crate) const SLOW_BOUND_FAMILY: &str = "stack_slow_request_bound_seconds";
pub(crate) const THRESHOLD_FAMILY: &str = "stack_request_latency_threshold_seconds";
pub(crate) const APP_GAUGE_FAMILY: &str = "stack_app_gauge";

/// Latency histograms detected by exact name, in this order (a tie-break: detection
/// prefers the one that resolves the threshold): Prometheus's naming guide (also
/// promhttp's examples, prom-client's and express-prom-bundle's default), FastAPI's
/// instrumentator (its fine-grained variant, then the one by handler), Django's
/// django-prometheus (by view, then all requests), OpenTelemetry's current and older
/// semantic conventions, Spring/Micrometer, common short and millisecond variants.
pub(crate) const LATENCY_NAMES: [&str; 13] = [
    "http_request_duration_seconds",
    "http_request_duration_highr_seconds",
    "django_http_requests_latency_seconds_by_view_method",
    "django_http_requests_latency_including_middlewares_seconds",
    "http_server_request_duration_seconds",
    "http_server_duration_milliseconds",
    "http_server_duration_seconds",
    "http_server_requests_seconds",
    "request_duration_seconds",
    "http_request_duration_ms",
    "http_request_duration_milliseconds",
    "http_request_latency_seconds",
    "request_latency_seconds",
];
/// Then histograms whose name ends in one of these (app-prefixed names such as
/// `synckairos_http_request_duration_ms`, starlette_exporter's
/// `starlette_request_duration_seconds`, yabeda's `rails_request_duration_seconds`).
pub(crate) const LATENCY_SUFFIXES: [&str; 7] = [
    "_http_request_duration_seconds",
    "_http_request_duration_ms",
    "_http_request_duration_milliseconds",
    "_http_server_request_duration_seconds",
    "_http_server_requests_seconds",
    "_request_duration_seconds",
    "_request_duration_milliseconds",
];
/// Request counters detected by exact name, in this order (after the labels: see
/// `detect_counter`); Django's are named after what they are split by.
pub(crate) const REQUEST_NAMES: [&str; 6] = [
    "http_requests_total",
    "http_server_requests_total",
    "requests_total",
    "django_http_responses_total_by_status_view_method_total",
    "django_http_responses_total_by_status_total",
    "django_http_requests_total_by_view_transport_method_total",
];
/// Then counters whose name ends in one of these.
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
/// Labels that name the route, handler or path a request went to: FastAPI's and Go's
/// `handler`, prom-client's `route`, express-prom-bundle's and Flask's `path`,
/// Micrometer's `uri`, OpenTelemetry's `http_route`/`http_target`, Flask's `url_rule`
/// and `endpoint`, Django's `view` (a URL name or a dotted view function).
pub(crate) const ROUTE_LABELS: [&str; 11] = [
    "handler",
    "route",
    "path",
    "http_route",
    "uri",
    "url",
    "url_rule",
    "url_path",
    "http_target",
    "endpoint",
    "view",
];
/// Route names that are a metrics endpoint whatever its path (django-prometheus names
/// its view this): scrapes, never the app's traffic.
const METRICS_ROUTE_NAMES: [&str; 1] = ["prometheus-django-metrics"];

/// Names the client side of HTTP (outgoing calls), never the app's own latency.
const CLIENT_MARKERS: [&str; 2] = ["_client_", "client_"];

const CODE_CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];
const OTHER: usize = 5;

/// What one poll derived, and what the status page and the log say about it.
#[derive(Debug, Default)]
pub(crate) struct Derived {
    pub families: Vec<MetricFamily>,
    pub notes: Vec<SourceNote>,
    /// With a latency histogram: whether it has a bucket at the threshold (reported by
    /// the self-metric `stack_exporter_latency_threshold_resolved`).
    pub threshold_resolved: Option<bool>,
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
    let own = OwnFilter::new(&config.own_requests);
    let latency = latency(scraped, config, &own, &mut out);
    requests(scraped, config, latency, &own, &mut out);
    gauges(scraped, &config.gauges, &mut out);
    queues(scraped, config, &mut out);
    out
}

// ---------------------------------------------------------------- own requests

/// Tells the exporter's own requests (and `exclude_routes`) from the app's traffic by
/// the route label of a series.
struct OwnFilter<'a> {
    config: &'a OwnRequests,
}

/// What a family's route labels allowed: whether it has any (else nothing could be
/// left out), and which `label=value` pairs were left out.
#[derive(Debug, Default)]
struct RouteInfo {
    labelled: bool,
    left_out: BTreeSet<String>,
}

impl RouteInfo {
    /// The part of a note about the exporter's own requests, starting with `; `, or
    /// empty when there is nothing to say.
    fn describe(&self, own: &OwnFilter) -> String {
        if !self.left_out.is_empty() {
            let list: Vec<&str> = self.left_out.iter().map(String::as_str).collect();
            format!(
                "; left out as the exporter's own or excluded: {}",
                list.join(", ")
            )
        } else if !self.labelled && !own.config.paths.is_empty() {
            format!(
                "; no route label ({}), so the exporter's own requests to {} are in it if the app counts them",
                ROUTE_LABELS[..4].join(", ") + ", …",
                own.config.paths.join(", ")
            )
        } else {
            String::new()
        }
    }
}

impl<'a> OwnFilter<'a> {
    fn new(config: &'a OwnRequests) -> Self {
        OwnFilter { config }
    }

    /// `Some("label=value")` when the series is the exporter's own request (or an
    /// excluded route); records in `info` whether it has a route label at all.
    fn own_route(&self, s: &Sample, info: &mut RouteInfo) -> Option<String> {
        for (name, value) in &s.labels {
            if !ROUTE_LABELS.contains(&name.as_str()) {
                continue;
            }
            info.labelled = true;
            if self.matches(name, value) {
                return Some(format!("{name}={value}"));
            }
        }
        None
    }

    /// Whether a route label's `value` names one of our paths: as written (`/metrics`),
    /// without a trailing or leading slash (Go handlers named `metrics`), a Django view
    /// whose last dotted or namespaced part is the path's last segment
    /// (`app.views.health`, `api:health`), a metrics view, or an excluded route.
    fn matches(&self, label: &str, value: &str) -> bool {
        if self.config.routes.iter().any(|r| r == value) || METRICS_ROUTE_NAMES.contains(&value) {
            return true;
        }
        self.config.paths.iter().any(|path| {
            if value == path {
                return true;
            }
            let bare = path.trim_matches('/');
            if bare.is_empty() {
                return false;
            }
            if value == path.trim_end_matches('/') || value == bare {
                return true;
            }
            label == "view" && {
                let segment = bare.rsplit('/').next().unwrap_or(bare);
                value.rsplit(['.', ':']).next() == Some(segment)
            }
        })
    }
}

// ---------------------------------------------------------------- latency

/// A latency histogram summed over its series (those not left out), bounds in seconds.
#[derive(Debug)]
struct SummedHistogram {
    /// (finite bound in seconds, cumulative count), ascending.
    buckets: Vec<(f64, f64)>,
    total: f64,
    /// Seconds; `None` unless every series has one (a partial sum would skew the mean).
    sum: Option<f64>,
    count: f64,
}

/// A histogram family (perhaps one per endpoint) that could give the latency.
struct LatencyCandidate<'a> {
    name: &'a str,
    unit: TimeUnit,
    summed: SummedHistogram,
    routes: RouteInfo,
    /// Position in the documented name order (names, then suffixes).
    rank: usize,
}

/// Two bounds in seconds are one when equal to 9 significant digits: a threshold
/// given as a duration and a bound parsed from text may differ in the last bit.
fn same_bound(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

impl LatencyCandidate<'_> {
    /// The smallest bound at or above the threshold: where slow requests are counted.
    fn slow_bound(&self, threshold: f64) -> Option<(f64, f64)> {
        (self.summed.buckets.iter().copied())
            .find(|(b, _)| *b > threshold || same_bound(*b, threshold))
    }

    fn resolves(&self, threshold: f64) -> bool {
        self.slow_bound(threshold)
            .is_some_and(|(b, _)| same_bound(b, threshold))
    }

    /// Higher is better: a bucket at the threshold, more bounds at or below it (the
    /// quantiles of fast requests are finer), a route label (the exporter's own
    /// requests can be left out), then the documented name order.
    fn score(&self, threshold: f64) -> (bool, usize, bool, Reverse<usize>) {
        let at_or_below = (self.summed.buckets.iter())
            .filter(|(b, _)| *b < threshold || same_bound(*b, threshold))
            .count();
        (
            self.resolves(threshold),
            at_or_below,
            self.routes.labelled,
            Reverse(self.rank),
        )
    }
}

/// Resolves and derives the latency histogram; returns the family name used (or the
/// configured one), which the requests fallback may read `_count` from.
fn latency<'a>(
    scraped: &[&'a MetricFamily],
    config: &'a SignalsConfig,
    own: &OwnFilter,
    out: &mut Derived,
) -> Option<&'a str> {
    let threshold = config.latency.threshold.as_secs_f64();
    let (candidate, origin, others) = match &config.latency.histogram {
        Some(name) => match configured_latency(scraped, name, config.latency.unit, own, out) {
            Some(c) => (c, Origin::Configured, Vec::new()),
            None => return Some(name.as_str()),
        },
        None if config.detect => {
            let mut candidates = latency_candidates(scraped, own, out);
            if candidates.is_empty() {
                return None;
            }
            candidates.sort_by_key(|c| Reverse(c.score(threshold)));
            let best = candidates.remove(0);
            let others: Vec<&'a str> = candidates.iter().map(|c| c.name).collect();
            (best, Origin::Detected, others)
        }
        None => return None,
    };
    let name = candidate.name;
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
    let mut text = format!(
        "latency: {name} ({}, {})",
        candidate.unit.as_str(),
        origin.as_str()
    );
    if !others.is_empty() {
        text.push_str(&format!(", preferred to {}", others.join(", ")));
    }
    let threshold_text = humantime::format_duration(config.latency.threshold).to_string();
    let slow = candidate.slow_bound(threshold);
    let problem = match slow {
        Some((bound, _)) if same_bound(bound, threshold) => {
            text.push_str(&format!(
                "; a bucket at the {threshold_text} threshold counts slow requests"
            ));
            false
        }
        Some((bound, _)) => {
            text.push_str(&format!(
                "; no bucket at the {threshold_text} threshold: slow requests are counted above {}, the next bound, so the latency alert can be late (add a {} bucket to the histogram, or set signals.latency.threshold to one of its bounds)",
                seconds_text(bound),
                format_bound(threshold)
            ));
            true
        }
        None => {
            text.push_str(&format!(
                "; no bucket at or above the {threshold_text} threshold{}: slow requests cannot be counted and the latency alert cannot fire",
                candidate
                    .summed
                    .buckets
                    .last()
                    .map(|(b, _)| format!(" (the largest is {})", seconds_text(*b)))
                    .unwrap_or_default()
            ));
            true
        }
    };
    text.push_str(&candidate.routes.describe(own));
    out.note(text, problem);
    out.families.push(histogram_family(&candidate.summed));
    derive_slow(scraped, &candidate.summed, threshold, slow, out);
    Some(name)
}

/// The slow counter, its bound and the threshold, unless the app exposes one of those
/// names itself; whether the threshold is resolved in any case.
fn derive_slow(
    scraped: &[&MetricFamily],
    summed: &SummedHistogram,
    threshold: f64,
    slow: Option<(f64, f64)>,
    out: &mut Derived,
) {
    out.threshold_resolved = Some(slow.is_some_and(|(b, _)| same_bound(b, threshold)));
    let ours = [SLOW_FAMILY, SLOW_BOUND_FAMILY, THRESHOLD_FAMILY];
    if let Some(clash) = ours
        .iter()
        .find(|n| app_exposes(scraped, n, &["_total", "_created"]))
    {
        out.note(
            format!("latency: slow requests not counted: the app exposes {clash} itself"),
            true,
        );
        return;
    }
    out.families.push(
        MetricFamily::gauge(
            THRESHOLD_FAMILY,
            "The app's latency threshold in seconds (signals.latency.threshold): requests slower than it are slow.",
        )
        .with_value(threshold),
    );
    let Some((bound, below)) = slow else {
        return;
    };
    out.families.push(
        MetricFamily::gauge(
            SLOW_BOUND_FAMILY,
            "The bucket bound, in seconds, above which stack_slow_requests_total counts requests: the latency threshold, or the app histogram's next bound above it.",
        )
        .with_value(bound),
    );
    out.families.push(
        MetricFamily::counter(
            SLOW_FAMILY,
            "Requests of the app's latency histogram slower than stack_slow_request_bound_seconds: its count minus that bucket.",
        )
        // Cumulative buckets never exceed the total; max(0) only guards NaN-free
        // rounding of huge floats.
        .with_value((summed.total - below).max(0.0)),
    );
}

/// A configured histogram, or a note saying why it cannot be used.
fn configured_latency<'a>(
    scraped: &[&'a MetricFamily],
    name: &'a str,
    unit: Option<TimeUnit>,
    own: &OwnFilter,
    out: &mut Derived,
) -> Option<LatencyCandidate<'a>> {
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
        return None;
    };
    let Some(unit) = unit.or_else(|| unit_of(first)) else {
        out.note(
            format!(
                "latency: the unit of {name} is unknown; set signals.latency.unit (s, ms or us)"
            ),
            true,
        );
        return None;
    };
    let mut routes = RouteInfo::default();
    let Some(summed) = sum_histogram(&families, unit, own, &mut routes) else {
        out.note(
            format!("latency: {name} has no series with a +Inf bucket or a _count"),
            true,
        );
        return None;
    };
    Some(LatencyCandidate {
        name,
        unit,
        summed,
        routes,
        rank: 0,
    })
}

/// Every histogram under a documented name that can be summed, with its unit; notes
/// when there is none.
fn latency_candidates<'a>(
    scraped: &[&'a MetricFamily],
    own: &OwnFilter,
    out: &mut Derived,
) -> Vec<LatencyCandidate<'a>> {
    let mut names: Vec<(&'a str, usize)> = Vec::new();
    for f in scraped.iter().filter(|f| f.kind == MetricType::Histogram) {
        if let Some(rank) = latency_rank(&f.name) {
            if !names.iter().any(|(n, _)| *n == f.name) {
                names.push((&f.name, rank));
            }
        }
    }
    let mut candidates = Vec::new();
    let mut unitless = Vec::new();
    for (name, rank) in names {
        let families: Vec<&MetricFamily> = named(scraped, name)
            .filter(|f| f.kind == MetricType::Histogram)
            .collect();
        let Some(unit) = families.first().and_then(|f| unit_of(f)) else {
            unitless.push(name);
            continue;
        };
        let mut routes = RouteInfo::default();
        if let Some(summed) = sum_histogram(&families, unit, own, &mut routes) {
            candidates.push(LatencyCandidate {
                name,
                unit,
                summed,
                routes,
                rank,
            });
        }
    }
    if candidates.is_empty() {
        let text = if let Some(name) = unitless.first() {
            format!("latency: the unit of {name} is unknown; set signals.latency.histogram and unit (s, ms or us)")
        } else {
            // A summary under a known name (Micrometer's default) is the usual
            // reason; saying so saves a trip to the docs.
            match (scraped.iter())
                .find(|f| f.kind == MetricType::Summary && latency_rank(&f.name).is_some())
            {
                Some(summary) => format!(
                    "latency: no known histogram found; {} is a summary, whose quantiles cannot be summed across series (expose it as a histogram)",
                    summary.name
                ),
                None => "latency: no known histogram found (set signals.latency.histogram)".into(),
            }
        };
        out.note(text, !unitless.is_empty());
    }
    candidates
}

/// Where `name` stands in the documented order of latency names, or `None` if it is
/// not one.
fn latency_rank(name: &str) -> Option<usize> {
    if let Some(i) = LATENCY_NAMES.iter().position(|n| *n == name) {
        return Some(i);
    }
    if CLIENT_MARKERS.iter().any(|m| name.contains(m)) {
        return None;
    }
    (LATENCY_SUFFIXES.iter())
        .position(|s| name.ends_with(s))
        .map(|i| LATENCY_NAMES.len() + i)
}

/// The type of the family a configured gauge name actually names: itself, or a
/// counter family named without its samples' `_total`.
fn other_kind(scraped: &[&MetricFamily], name: &str) -> Option<MetricType> {
    named(scraped, name).next().map(|f| f.kind).or_else(|| {
        let base = name.strip_suffix("_total")?;
        named(scraped, base)
            .find(|f| f.kind == MetricType::Counter)
            .map(|f| f.kind)
    })
}

fn named<'a, 'b>(
    scraped: &'b [&'a MetricFamily],
    name: &'b str,
) -> impl Iterator<Item = &'a MetricFamily> + 'b {
    scraped.iter().copied().filter(move |f| f.name == name)
}

/// The unit from OpenMetrics UNIT metadata, else from the name: its suffix, or a unit
/// word inside it (Django's `…_latency_seconds_by_view_method`).
fn unit_of(family: &MetricFamily) -> Option<TimeUnit> {
    let from_word = |w: &str| match w {
        "seconds" => Some(TimeUnit::Seconds),
        "milliseconds" | "ms" => Some(TimeUnit::Milliseconds),
        "microseconds" | "us" => Some(TimeUnit::Microseconds),
        _ => None,
    };
    from_word(&family.unit)
        .or_else(|| (family.name.rsplit_once('_')).and_then(|(_, suffix)| from_word(suffix)))
        .or_else(|| {
            // Only the long words inside a name: `_ms_` could be an abbreviation of
            // anything in the middle of a name.
            let mut words = family.name.split('_');
            words.find_map(|w| match w {
                "seconds" => Some(TimeUnit::Seconds),
                "milliseconds" => Some(TimeUnit::Milliseconds),
                "microseconds" => Some(TimeUnit::Microseconds),
                _ => None,
            })
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

/// Sums every series of `families` (one histogram, perhaps from several endpoints)
/// that is not the exporter's own into one histogram in seconds; `None` when no series
/// is usable.
fn sum_histogram(
    families: &[&MetricFamily],
    unit: TimeUnit,
    own: &OwnFilter,
    routes: &mut RouteInfo,
) -> Option<SummedHistogram> {
    // Keyed by (family index, labels without `le`, sorted): equal label sets from two
    // endpoints are two series.
    let mut series: BTreeMap<(usize, Labels), HistogramSeries> = BTreeMap::new();
    // The exporter's own series, kept apart: when they are all there is (an idle app
    // seen only by us), they give the histogram its shape with nothing counted.
    let mut left_out: BTreeMap<(usize, Labels), HistogramSeries> = BTreeMap::new();
    for (i, f) in families.iter().enumerate() {
        let bucket = format!("{}_bucket", f.name);
        let sum = format!("{}_sum", f.name);
        let count = format!("{}_count", f.name);
        for s in &f.samples {
            if s.value.is_nan() {
                continue;
            }
            let target = match own.own_route(s, routes) {
                Some(route) => {
                    routes.left_out.insert(route);
                    &mut left_out
                }
                None => &mut series,
            };
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
                let entry = target.entry((i, key)).or_default();
                if le == f64::INFINITY {
                    entry.inf = Some(s.value);
                } else {
                    entry.buckets.push((le, s.value));
                }
            } else if s.name == sum {
                target.entry((i, key)).or_default().sum = Some(s.value);
            } else if s.name == count {
                target.entry((i, key)).or_default().count = Some(s.value);
            }
        }
    }
    let (kept, shape_only) = match usable(&series) {
        kept if !kept.is_empty() => (kept, false),
        _ => (usable(&left_out), true),
    };
    let bounds = common_bounds(&kept)?;
    if shape_only {
        return Some(SummedHistogram {
            buckets: bounds
                .iter()
                .map(|b| (to_seconds_exact(*b, unit), 0.0))
                .collect(),
            total: 0.0,
            sum: Some(0.0),
            count: 0.0,
        });
    }
    let usable = kept;
    let buckets = (bounds.iter())
        .map(|b| {
            let v: f64 = usable
                .iter()
                .filter_map(|s| s.buckets.iter().find(|(x, _)| x == b).map(|(_, v)| *v))
                .sum();
            (to_seconds_exact(*b, unit), v)
        })
        .collect();
    Some(SummedHistogram {
        buckets,
        total: usable.iter().filter_map(|s| s.total()).sum(),
        sum: usable.iter().all(|s| s.sum.is_some()).then(|| {
            usable.iter().filter_map(|s| s.sum).sum::<f64>() / 10f64.powi(unit.decimal_shift())
        }),
        count: usable.iter().filter_map(|s| s.count.or(s.inf)).sum(),
    })
}

fn usable(map: &BTreeMap<(usize, Labels), HistogramSeries>) -> Vec<&HistogramSeries> {
    map.values().filter(|s| s.total().is_some()).collect()
}

/// The finite bounds every series has, ascending; `None` without series.
fn common_bounds(series: &[&HistogramSeries]) -> Option<Vec<f64>> {
    let (first, rest) = series.split_first()?;
    let mut bounds: Vec<f64> = first.buckets.iter().map(|(b, _)| *b).collect();
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    for s in rest {
        bounds.retain(|b| s.buckets.iter().any(|(x, _)| x == b));
    }
    Some(bounds)
}

fn histogram_family(h: &SummedHistogram) -> MetricFamily {
    let mut family = MetricFamily::new(
        LATENCY_FAMILY,
        MetricType::Histogram,
        "Request latency of the app in seconds: its own latency histogram, summed over its labels (see docs/apps.md, golden signals).",
    );
    family.unit = "seconds".to_owned();
    let bucket_name = format!("{LATENCY_FAMILY}_bucket");
    for (b, v) in &h.buckets {
        family.samples.push(sample(
            &bucket_name,
            labels(&[("le", &format_bound(*b))]),
            *v,
        ));
    }
    family
        .samples
        .push(sample(&bucket_name, labels(&[("le", "+Inf")]), h.total));
    if let Some(sum) = h.sum {
        family
            .samples
            .push(sample(&format!("{LATENCY_FAMILY}_sum"), Vec::new(), sum));
    }
    family.samples.push(sample(
        &format!("{LATENCY_FAMILY}_count"),
        Vec::new(),
        h.count,
    ));
    family
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
    shift_decimal(value, -unit.decimal_shift())
}

/// `value` × 10^`places`, exact in decimal (see `to_seconds_exact`).
fn shift_decimal(value: f64, places: i32) -> f64 {
    if places == 0 || !value.is_finite() {
        return value;
    }
    let scientific = format!("{value:e}");
    scientific
        .split_once('e')
        .and_then(|(mantissa, exp)| {
            let exp: i32 = exp.parse().ok()?;
            format!("{mantissa}e{}", exp + places).parse().ok()
        })
        .unwrap_or(value * 10f64.powi(places))
}

/// A bound in seconds for a note: `100ms`, `2.5s`.
fn seconds_text(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{}ms", shift_decimal(seconds, 3))
    } else {
        format!("{seconds}s")
    }
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

/// The value samples of every counter family named `name` (with or without `_total`).
fn counter_samples<'a>(scraped: &[&'a MetricFamily], name: &str) -> Vec<&'a Sample> {
    (scraped.iter().copied())
        .filter(|f| is_counter_named(f, name))
        .flat_map(counter_values)
        .collect()
}

fn has_label(samples: &[&Sample], names: &[&str]) -> bool {
    samples
        .iter()
        .any(|s| s.labels.iter().any(|(k, _)| names.contains(&k.as_str())))
}

/// Among the counters named in `REQUEST_NAMES` or ending in one of `REQUEST_SUFFIXES`:
/// one with a status label (errors can be derived), then one with a route label (the
/// exporter's own requests can be left out), then the documented order; as
/// `<base>_total`.
fn detect_counter(scraped: &[&MetricFamily]) -> Option<String> {
    let mut names: Vec<(String, usize)> = Vec::new();
    for f in scraped
        .iter()
        .filter(|f| matches!(f.kind, MetricType::Counter | MetricType::Unknown))
    {
        let total = format!("{}_total", counter_base(&f.name));
        let rank = match REQUEST_NAMES.iter().position(|n| *n == total) {
            Some(i) => i,
            None if CLIENT_MARKERS.iter().any(|m| total.contains(m)) => continue,
            None => match REQUEST_SUFFIXES.iter().position(|s| total.ends_with(s)) {
                Some(i) => REQUEST_NAMES.len() + i,
                None => continue,
            },
        };
        if !names.iter().any(|(n, _)| *n == total) {
            names.push((total, rank));
        }
    }
    names
        .into_iter()
        .max_by_key(|(name, rank)| {
            let samples = counter_samples(scraped, name);
            (
                has_label(&samples, &STATUS_LABELS),
                has_label(&samples, &ROUTE_LABELS),
                Reverse(*rank),
            )
        })
        .map(|(name, _)| name)
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
    own: &OwnFilter,
    out: &mut Derived,
) {
    let r = &config.requests;
    // (what the note calls the source, its value samples, origin)
    let (what, samples, origin): (String, Vec<&Sample>, &str) = match &r.counter {
        Some(name) => {
            let samples = counter_samples(scraped, name);
            if !scraped.iter().any(|f| is_counter_named(f, name)) {
                let base = counter_base(name);
                let text = match scraped.iter().find(|f| counter_base(&f.name) == base) {
                    Some(f) => format!("requests: {name} is a {}, not a counter", f.kind),
                    None => format!("requests: {name} is not in the scrape"),
                };
                out.note(text, true);
                return;
            }
            (name.clone(), samples, Origin::Configured.as_str())
        }
        None if config.detect => match detect_counter(scraped) {
            Some(name) => {
                let samples = counter_samples(scraped, &name);
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
    // The status label is read before the exporter's own series are left out: an app
    // seen only by us still has one.
    let status = status_label(r.status_label.as_deref(), &samples);
    let mut routes = RouteInfo::default();
    let samples: Vec<&Sample> = samples
        .into_iter()
        .filter(|s| match own.own_route(s, &mut routes) {
            Some(route) => {
                routes.left_out.insert(route);
                false
            }
            None => true,
        })
        .collect();
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
    text.push_str(&routes.describe(own));
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
    // With every series left out (an idle app seen only by us), the requests are 0,
    // not unknown: the app is there and served nothing else.
    let classes = if classes.iter().all(Option::is_none) && !routes.left_out.is_empty() {
        let mut zero = [None; 6];
        zero[1] = Some(0.0);
        zero
    } else {
        classes
    };
    if !clash_requests && classes.iter().any(Option::is_some) {
        let mut family = MetricFamily::counter(
            REQUESTS_FAMILY,
            "Requests the app served, by status class (1xx-5xx, other): its own request counter, summed over its labels, without the exporter's own requests (see docs/apps.md, golden signals).",
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
                "Requests the app answered with an error status (signals.requests.errors, default 5xx), summed over its labels, without the exporter's own requests.",
            )
            .with_value(errors),
        );
    }
}

/// With no request counter: `_count` by status of a latency family (a histogram's or
/// a summary's): the one the latency came from if it has a status label, else the
/// first documented one that has, as Micrometer's `http_server_requests_seconds` and
/// express-prom-bundle's `http_request_duration_seconds` do.
fn count_fallback<'a>(
    scraped: &[&'a MetricFamily],
    latency: Option<&'a str>,
    configured_status: Option<&str>,
) -> Option<(&'a str, Vec<&'a Sample>)> {
    let kinds = [MetricType::Histogram, MetricType::Summary];
    let counts = |name: &str| -> Vec<&'a Sample> {
        let count = format!("{name}_count");
        named(scraped, name)
            .filter(|f| kinds.contains(&f.kind))
            .flat_map(|f| f.samples.iter())
            .filter(|s| s.name == count)
            .collect()
    };
    let mut names: Vec<&'a str> = latency.into_iter().collect();
    let mut detected: Vec<(&'a str, usize)> = (scraped.iter())
        .filter(|f| kinds.contains(&f.kind))
        .filter_map(|f| latency_rank(&f.name).map(|r| (f.name.as_str(), r)))
        .collect();
    detected.sort_by_key(|(_, rank)| *rank);
    names.extend(detected.into_iter().map(|(n, _)| n));
    names.into_iter().find_map(|name| {
        let samples = counts(name);
        status_label(configured_status, &samples)?;
        Some((name, samples))
    })
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

// ---------------------------------------------------------------- app gauges

/// `signals.gauges`: each of the app's gauges summed over its labels, as
/// `stack_app_gauge{gauge="<name>"}`.
fn gauges(scraped: &[&MetricFamily], configured: &[GaugeSignal], out: &mut Derived) {
    if configured.is_empty() {
        return;
    }
    if app_exposes(scraped, APP_GAUGE_FAMILY, &[]) {
        out.note(
            format!("gauges: not derived: the app exposes {APP_GAUGE_FAMILY} itself"),
            false,
        );
        return;
    }
    let mut family = MetricFamily::gauge(
        APP_GAUGE_FAMILY,
        "One of the app's own gauges (signals.gauges: active sessions, connections, a write queue, …), summed over its labels, under one name for the overview dashboard.",
    );
    for g in configured {
        let families: Vec<&MetricFamily> = named(scraped, &g.gauge)
            .filter(|f| matches!(f.kind, MetricType::Gauge | MetricType::Unknown))
            .collect();
        if families.is_empty() {
            let text = match other_kind(scraped, &g.gauge) {
                Some(kind) => format!("gauge: {} is a {kind}, not a gauge", g.gauge),
                None => format!("gauge: {} is not in the scrape", g.gauge),
            };
            out.note(text, true);
            continue;
        }
        let values: Vec<f64> = (families.iter())
            .flat_map(|f| f.samples.iter())
            .map(|s| s.value)
            .filter(|v| !v.is_nan())
            .collect();
        if values.is_empty() {
            out.note(format!("gauge: {} has no value", g.gauge), true);
            continue;
        }
        let text = if g.name == g.gauge {
            format!("gauge: {} (configured)", g.gauge)
        } else {
            format!("gauge: {} as {} (configured)", g.gauge, g.name)
        };
        out.note(text, false);
        family.push(labels(&[("gauge", &g.name)]), values.iter().sum());
    }
    if !family.samples.is_empty() {
        out.families.push(family);
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
            let text = match other_kind(scraped, &q.gauge) {
                Some(kind) => format!("queue: {} is a {kind}, not a gauge", q.gauge),
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
    use crate::config::{LatencySignal, OwnRequests, QueueSignal, RequestsSignal};
    use crate::exposition::parse::{parse, ParseLimits};
    use crate::exposition::Format;

    fn classic(body: &str) -> Vec<MetricFamily> {
        parse(body.as_bytes(), Format::Classic, &ParseLimits::default()).unwrap()
    }

    fn config() -> SignalsConfig {
        SignalsConfig {
            latency: LatencySignal {
                histogram: None,
                unit: None,
                threshold: LatencySignal::DEFAULT_THRESHOLD,
            },
            requests: RequestsSignal {
                counter: None,
                status_label: None,
                errors: StatusMatcher::new(StatusMatcher::DEFAULT_ERRORS, 1 << 20).unwrap(),
            },
            queues: Vec::new(),
            gauges: Vec::new(),
            own_requests: OwnRequests::default(),
            detect: true,
        }
    }

    /// The latency family the notes say was used.
    fn latency_used(d: &Derived) -> Option<String> {
        d.notes.iter().find_map(|n| {
            let rest = n.text.strip_prefix("latency: ")?;
            let (name, _) = rest.split_once(" (")?;
            crate::model::is_valid_metric_name(name).then(|| name.to_owned())
        })
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
            "latency: synckairos_http_request_duration_ms (ms, detected); no bucket at or above the 50ms threshold (the largest is 10ms): slow requests cannot be counted and the latency alert cannot fire".to_owned(),
            true
        )));
    }

    #[test]
    fn requests_by_code_class_and_errors() {
        let d = run(&classic(NODE_APP), &config());
        let all = lines(&d);
        let requests: Vec<&str> = all
            .iter()
            .filter(|l| l.starts_with("stack_request"))
            .filter(|l| !l.starts_with(LATENCY_FAMILY) && !l.starts_with(THRESHOLD_FAMILY))
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
        assert_eq!(
            latency_used(&run(&f, &config())).as_deref(),
            Some("http_server_requests_seconds")
        );
        assert_eq!(
            latency_used(&run(&f[..1], &config())).as_deref(),
            Some("app_http_request_duration_ms")
        );
        assert_eq!(
            latency_used(&run(&f[2..], &config())),
            None,
            "a summary is not detected as latency"
        );
        let body = "# TYPE shop_http_requests_total counter\n\
                    shop_http_requests_total{status_code=\"200\",code=\"x\"} 1\n\
                    # TYPE requests_total counter\n\
                    requests_total 1\n";
        let f = classic(body);
        let refs: Vec<&MetricFamily> = f.iter().collect();
        // A status label beats the name order: errors can be derived from it.
        assert_eq!(
            detect_counter(&refs).as_deref(),
            Some("shop_http_requests_total")
        );
        assert_eq!(
            detect_counter(&refs[1..]).as_deref(),
            Some("requests_total")
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
                "stack_request_latency_threshold_seconds{} 0.05",
                "stack_slow_request_bound_seconds{} 0.1",
                "stack_slow_requests_total{} 1",
                "stack_requests_total{code_class=\"2xx\"} 5",
                "stack_requests_total{code_class=\"5xx\"} 1",
                "stack_request_errors_total{} 1",
            ]
        );
        assert_eq!(
            notes(&d),
            [
                (
                    "latency: http_request_duration_seconds (s, detected); no bucket at the 50ms threshold: slow requests are counted above 100ms, the next bound, so the latency alert can be late (add a 0.05 bucket to the histogram, or set signals.latency.threshold to one of its bounds)".to_owned(),
                    true
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
                "stack_request_latency_threshold_seconds{} 0.05",
                "stack_slow_request_bound_seconds{} 0.1",
                "stack_slow_requests_total{} 22",
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
        c.latency.histogram = Some("request_latency".into());
        c.latency.unit = None;
        let d = run(&classic(body), &c);
        assert!(d.families.iter().all(|f| f.name != LATENCY_FAMILY));
        assert!(notes(&d).contains(&(
            "latency: the unit of request_latency is unknown; set signals.latency.unit (s, ms or us)".to_owned(),
            true
        )));
        c.latency.histogram = Some("request_latency".into());
        c.latency.unit = Some(TimeUnit::Microseconds);
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
        c.latency.histogram = Some("rpc_seconds".into());
        c.latency.unit = None;
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

        c.latency.histogram = Some("nope_seconds".into());
        c.latency.unit = None;
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
        c.latency.histogram = None;
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
                "stack_request_latency_threshold_seconds{} 0.05",
                "stack_slow_request_bound_seconds{} 0.1",
                "stack_slow_requests_total{} 1",
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

    /// The exporter's own requests as the config derives them for an app at
    /// http://127.0.0.1:8000/metrics with a probe of /health.
    fn own(c: &mut SignalsConfig) {
        c.own_requests = OwnRequests {
            paths: vec!["/metrics".into(), "/health".into()],
            routes: Vec::new(),
        };
    }

    /// What prometheus-fastapi-instrumentator 8.1 serves at its defaults (the app got
    /// 3 requests of /work at 5-20 ms, and one /health and one /metrics from us).
    const FASTAPI_APP: &str = r#"# TYPE http_requests_total counter
http_requests_total{handler="/work",method="GET",status="2xx"} 3.0
http_requests_total{handler="/health",method="GET",status="2xx"} 1.0
http_requests_total{handler="/metrics",method="GET",status="2xx"} 1.0
# TYPE http_request_size_bytes summary
http_request_size_bytes_count{handler="/work"} 3.0
http_request_size_bytes_sum{handler="/work"} 0.0
# TYPE http_request_duration_highr_seconds histogram
http_request_duration_highr_seconds_bucket{le="0.01"} 4.0
http_request_duration_highr_seconds_bucket{le="0.025"} 5.0
http_request_duration_highr_seconds_bucket{le="0.05"} 5.0
http_request_duration_highr_seconds_bucket{le="0.075"} 5.0
http_request_duration_highr_seconds_bucket{le="0.1"} 5.0
http_request_duration_highr_seconds_bucket{le="0.25"} 5.0
http_request_duration_highr_seconds_bucket{le="0.5"} 5.0
http_request_duration_highr_seconds_bucket{le="1.0"} 5.0
http_request_duration_highr_seconds_bucket{le="60.0"} 5.0
http_request_duration_highr_seconds_bucket{le="+Inf"} 5.0
http_request_duration_highr_seconds_count 5.0
http_request_duration_highr_seconds_sum 0.04356
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{handler="/work",le="0.1",method="GET"} 3.0
http_request_duration_seconds_bucket{handler="/work",le="0.5",method="GET"} 3.0
http_request_duration_seconds_bucket{handler="/work",le="1.0",method="GET"} 3.0
http_request_duration_seconds_bucket{handler="/work",le="+Inf",method="GET"} 3.0
http_request_duration_seconds_count{handler="/work",method="GET"} 3.0
http_request_duration_seconds_sum{handler="/work",method="GET"} 0.0228
http_request_duration_seconds_bucket{handler="/health",le="0.1",method="GET"} 1.0
http_request_duration_seconds_bucket{handler="/health",le="0.5",method="GET"} 1.0
http_request_duration_seconds_bucket{handler="/health",le="1.0",method="GET"} 1.0
http_request_duration_seconds_bucket{handler="/health",le="+Inf",method="GET"} 1.0
http_request_duration_seconds_count{handler="/health",method="GET"} 1.0
http_request_duration_seconds_sum{handler="/health",method="GET"} 0.0012
http_request_duration_seconds_bucket{handler="/metrics",le="0.1",method="GET"} 1.0
http_request_duration_seconds_bucket{handler="/metrics",le="0.5",method="GET"} 1.0
http_request_duration_seconds_bucket{handler="/metrics",le="1.0",method="GET"} 1.0
http_request_duration_seconds_bucket{handler="/metrics",le="+Inf",method="GET"} 1.0
http_request_duration_seconds_count{handler="/metrics",method="GET"} 1.0
http_request_duration_seconds_sum{handler="/metrics",method="GET"} 0.0195
"#;

    fn value_of(d: &Derived, sample: &str) -> Option<f64> {
        d.families
            .iter()
            .flat_map(|f| f.samples.iter())
            .find(|s| s.name == sample)
            .map(|s| s.value)
    }

    #[test]
    fn fastapi_defaults_use_the_fine_histogram_and_leave_our_requests_out() {
        let mut c = config();
        own(&mut c);
        let d = run(&classic(FASTAPI_APP), &c);
        // The fine-grained histogram resolves 50 ms; the one by handler (0.1/0.5/1)
        // would put every 5 ms request at 50 ms (p50) by interpolation.
        assert_eq!(
            latency_used(&d).as_deref(),
            Some("http_request_duration_highr_seconds")
        );
        let bucket = |le: &str| {
            d.families[0]
                .samples
                .iter()
                .find(|s| label(s, "le") == Some(le))
                .map(|s| s.value)
        };
        assert_eq!(bucket("0.01"), Some(4.0));
        assert_eq!(bucket("0.05"), Some(5.0));
        assert_eq!(value_of(&d, "stack_slow_request_bound_seconds"), Some(0.05));
        assert_eq!(d.threshold_resolved, Some(true));
        assert_eq!(value_of(&d, "stack_slow_requests_total"), Some(0.0));
        // /health and /metrics are ours: 3 requests, not 5.
        assert_eq!(
            lines(&d)
                .into_iter()
                .filter(|l| l.starts_with("stack_requests_total"))
                .collect::<Vec<_>>(),
            ["stack_requests_total{code_class=\"2xx\"} 3"]
        );
        assert_eq!(value_of(&d, "stack_request_errors_total"), Some(0.0));
        let notes = notes(&d);
        assert_eq!(
            notes[0],
            ("latency: http_request_duration_highr_seconds (s, detected), preferred to http_request_duration_seconds; a bucket at the 50ms threshold counts slow requests; no route label (handler, route, path, http_route, …), so the exporter's own requests to /metrics, /health are in it if the app counts them".to_owned(), false)
        );
        assert_eq!(
            notes[1],
            ("requests: http_requests_total (detected), by status; errors: status matching 5..; left out as the exporter's own or excluded: handler=/health, handler=/metrics".to_owned(), false)
        );
    }

    #[test]
    fn an_app_seen_only_by_us_served_no_requests() {
        let body = "# TYPE http_requests_total counter\n\
                    http_requests_total{handler=\"/metrics\",status=\"2xx\"} 40\n\
                    http_requests_total{handler=\"/health\",status=\"2xx\"} 40\n\
                    # TYPE http_request_duration_seconds histogram\n\
                    http_request_duration_seconds_bucket{handler=\"/metrics\",le=\"0.05\"} 40\n\
                    http_request_duration_seconds_bucket{handler=\"/metrics\",le=\"+Inf\"} 40\n\
                    http_request_duration_seconds_sum{handler=\"/metrics\"} 0.4\n\
                    http_request_duration_seconds_count{handler=\"/metrics\"} 40\n";
        let mut c = config();
        own(&mut c);
        let d = run(&classic(body), &c);
        assert_eq!(
            lines(&d),
            [
                "stack_request_duration_seconds_bucket{le=\"0.05\"} 0",
                "stack_request_duration_seconds_bucket{le=\"+Inf\"} 0",
                "stack_request_duration_seconds_sum{} 0",
                "stack_request_duration_seconds_count{} 0",
                "stack_request_latency_threshold_seconds{} 0.05",
                "stack_slow_request_bound_seconds{} 0.05",
                "stack_slow_requests_total{} 0",
                "stack_requests_total{code_class=\"2xx\"} 0",
                "stack_request_errors_total{} 0",
            ]
        );
        assert_eq!(d.threshold_resolved, Some(true));
        // Without the exporter's paths (as before), they would count as traffic.
        let d = run(&classic(body), &config());
        assert_eq!(value_of(&d, "stack_requests_total"), Some(80.0));
    }

    /// django-prometheus 2.5 at its defaults: latency by view and without labels,
    /// five request counters of which one has both status and view.
    const DJANGO_APP: &str = r#"# TYPE django_http_requests_latency_seconds_by_view_method histogram
django_http_requests_latency_seconds_by_view_method_bucket{le="0.01",method="GET",view="prometheus-django-metrics"} 2.0
django_http_requests_latency_seconds_by_view_method_bucket{le="0.05",method="GET",view="prometheus-django-metrics"} 2.0
django_http_requests_latency_seconds_by_view_method_bucket{le="+Inf",method="GET",view="prometheus-django-metrics"} 2.0
django_http_requests_latency_seconds_by_view_method_count{method="GET",view="prometheus-django-metrics"} 2.0
django_http_requests_latency_seconds_by_view_method_sum{method="GET",view="prometheus-django-metrics"} 0.004
django_http_requests_latency_seconds_by_view_method_bucket{le="0.01",method="GET",view="djapp.views.health"} 2.0
django_http_requests_latency_seconds_by_view_method_bucket{le="0.05",method="GET",view="djapp.views.health"} 2.0
django_http_requests_latency_seconds_by_view_method_bucket{le="+Inf",method="GET",view="djapp.views.health"} 2.0
django_http_requests_latency_seconds_by_view_method_count{method="GET",view="djapp.views.health"} 2.0
django_http_requests_latency_seconds_by_view_method_sum{method="GET",view="djapp.views.health"} 0.002
django_http_requests_latency_seconds_by_view_method_bucket{le="0.01",method="GET",view="work"} 1.0
django_http_requests_latency_seconds_by_view_method_bucket{le="0.05",method="GET",view="work"} 6.0
django_http_requests_latency_seconds_by_view_method_bucket{le="+Inf",method="GET",view="work"} 10.0
django_http_requests_latency_seconds_by_view_method_count{method="GET",view="work"} 10.0
django_http_requests_latency_seconds_by_view_method_sum{method="GET",view="work"} 1.2
# TYPE django_http_requests_latency_including_middlewares_seconds histogram
django_http_requests_latency_including_middlewares_seconds_bucket{le="0.01"} 5.0
django_http_requests_latency_including_middlewares_seconds_bucket{le="0.05"} 10.0
django_http_requests_latency_including_middlewares_seconds_bucket{le="+Inf"} 14.0
django_http_requests_latency_including_middlewares_seconds_count 14.0
django_http_requests_latency_including_middlewares_seconds_sum 1.3
# TYPE django_http_responses_total_by_status_total counter
django_http_responses_total_by_status_total{status="200"} 12.0
django_http_responses_total_by_status_total{status="500"} 2.0
# TYPE django_http_responses_total_by_status_view_method_total counter
django_http_responses_total_by_status_view_method_total{method="GET",status="200",view="prometheus-django-metrics"} 2.0
django_http_responses_total_by_status_view_method_total{method="GET",status="200",view="djapp.views.health"} 2.0
django_http_responses_total_by_status_view_method_total{method="GET",status="200",view="work"} 8.0
django_http_responses_total_by_status_view_method_total{method="GET",status="500",view="work"} 2.0
# TYPE django_http_requests_total_by_view_transport_method_total counter
django_http_requests_total_by_view_transport_method_total{method="GET",transport="http",view="work"} 10.0
"#;

    #[test]
    fn django_defaults_give_signals_by_view() {
        let mut c = config();
        own(&mut c);
        let d = run(&classic(DJANGO_APP), &c);
        // Same buckets: the one by view wins, so that our requests can be left out.
        assert_eq!(
            latency_used(&d).as_deref(),
            Some("django_http_requests_latency_seconds_by_view_method")
        );
        assert_eq!(
            value_of(&d, "stack_request_duration_seconds_count"),
            Some(10.0)
        );
        assert_eq!(value_of(&d, "stack_slow_requests_total"), Some(4.0));
        assert_eq!(
            lines(&d)
                .into_iter()
                .filter(|l| l.starts_with("stack_request_errors") || l.starts_with("stack_requests"))
                .collect::<Vec<_>>(),
            [
                "stack_requests_total{code_class=\"2xx\"} 8",
                "stack_requests_total{code_class=\"5xx\"} 2",
                "stack_request_errors_total{} 2",
            ]
        );
        assert!(
            notes(&d)[1].0.starts_with(
                "requests: django_http_responses_total_by_status_view_method_total (detected), by status; errors: status matching 5..; left out as the exporter's own or excluded: view=djapp.views.health, view=prometheus-django-metrics"
            ),
            "{:?}",
            notes(&d)
        );
    }

    /// express-prom-bundle 8 at its defaults: one histogram by `status_code`, no
    /// route label, no request counter, buckets 0.003/0.03/0.1/0.3/1.5/10.
    const EXPRESS_BUNDLE_APP: &str = r#"# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.003",status_code="200"} 2
http_request_duration_seconds_bucket{le="0.03",status_code="200"} 90
http_request_duration_seconds_bucket{le="0.1",status_code="200"} 95
http_request_duration_seconds_bucket{le="0.3",status_code="200"} 100
http_request_duration_seconds_bucket{le="1.5",status_code="200"} 100
http_request_duration_seconds_bucket{le="10",status_code="200"} 100
http_request_duration_seconds_bucket{le="+Inf",status_code="200"} 100
http_request_duration_seconds_sum{status_code="200"} 2.1
http_request_duration_seconds_count{status_code="200"} 100
# TYPE up gauge
up 1
"#;

    #[test]
    fn a_histogram_without_a_threshold_bucket_counts_slow_above_the_next_bound() {
        let mut c = config();
        own(&mut c);
        let d = run(&classic(EXPRESS_BUNDLE_APP), &c);
        assert_eq!(value_of(&d, "stack_slow_request_bound_seconds"), Some(0.1));
        assert_eq!(value_of(&d, "stack_slow_requests_total"), Some(5.0));
        assert_eq!(d.threshold_resolved, Some(false));
        let (latency, problem) = &notes(&d)[0];
        assert!(*problem);
        assert!(
            latency
                .contains("no bucket at the 50ms threshold: slow requests are counted above 100ms"),
            "{latency}"
        );
        assert!(latency.contains("no route label"), "{latency}");
        // Requests come from the histogram's _count by status_code.
        assert_eq!(
            notes(&d)[1].0,
            "requests: http_request_duration_seconds_count (detected, no request counter), by status_code; errors: status_code matching 5..; no route label (handler, route, path, http_route, …), so the exporter's own requests to /metrics, /health are in it if the app counts them"
        );
        // A threshold the histogram has is resolved.
        c.latency.threshold = std::time::Duration::from_millis(30);
        let d = run(&classic(EXPRESS_BUNDLE_APP), &c);
        assert_eq!(d.threshold_resolved, Some(true));
        assert_eq!(value_of(&d, "stack_slow_requests_total"), Some(10.0));
        assert!(!notes(&d)[0].1, "{:?}", notes(&d));
    }

    #[test]
    fn detection_prefers_the_histogram_that_resolves_the_threshold() {
        let body = "# TYPE http_request_duration_seconds histogram\n\
                    http_request_duration_seconds_bucket{handler=\"/a\",le=\"0.1\"} 1\n\
                    http_request_duration_seconds_bucket{handler=\"/a\",le=\"+Inf\"} 1\n\
                    http_request_duration_seconds_count{handler=\"/a\"} 1\n\
                    # TYPE app_request_duration_seconds histogram\n\
                    app_request_duration_seconds_bucket{le=\"0.01\"} 1\n\
                    app_request_duration_seconds_bucket{le=\"0.05\"} 1\n\
                    app_request_duration_seconds_bucket{le=\"+Inf\"} 1\n\
                    app_request_duration_seconds_count 1\n\
                    # TYPE app_http_client_request_duration_seconds histogram\n\
                    app_http_client_request_duration_seconds_bucket{le=\"0.005\"} 1\n\
                    app_http_client_request_duration_seconds_bucket{le=\"0.05\"} 1\n\
                    app_http_client_request_duration_seconds_bucket{le=\"+Inf\"} 1\n\
                    app_http_client_request_duration_seconds_count 1\n";
        let f = classic(body);
        // The suffix-matched one has the 50 ms bucket; the client-side one (outgoing
        // calls) is never the app's latency, however fine.
        assert_eq!(
            latency_used(&run(&f, &config())).as_deref(),
            Some("app_request_duration_seconds")
        );
        // With a 100 ms threshold both resolve it; more bounds below it wins.
        let mut c = config();
        c.latency.threshold = std::time::Duration::from_millis(100);
        assert_eq!(
            latency_used(&run(&f, &c)).as_deref(),
            Some("http_request_duration_seconds")
        );
        // A configured histogram is used whatever its resolution.
        let mut c = config();
        c.latency.histogram = Some("http_request_duration_seconds".into());
        assert_eq!(
            latency_used(&run(&f, &c)).as_deref(),
            Some("http_request_duration_seconds")
        );
    }

    #[test]
    fn own_requests_are_recognised_by_route_label() {
        let config = OwnRequests {
            paths: vec!["/metrics".into(), "/api/health/".into()],
            routes: vec!["internal-ping".into()],
        };
        let own = OwnFilter::new(&config);
        for (label, value, mine) in [
            ("handler", "/metrics", true),
            ("handler", "metrics", true),
            ("route", "/api/health/", true),
            ("route", "/api/health", true),
            ("path", "api/health", true),
            ("uri", "/metrics/", false),
            ("view", "djapp.views.health", true),
            ("view", "api:health", true),
            ("view", "prometheus-django-metrics", true),
            ("handler", "app.views.health", false),
            ("view", "djapp.views.healthz", false),
            ("endpoint", "internal-ping", true),
            ("handler", "/work", false),
            ("method", "/metrics", false),
        ] {
            let s = sample("x", labels(&[(label, value)]), 1.0);
            let mut info = RouteInfo::default();
            assert_eq!(
                own.own_route(&s, &mut info).is_some(),
                mine,
                "{label}={value}"
            );
            assert_eq!(info.labelled, label != "method", "{label}={value}");
        }
        // A root path is not every handler named "".
        let root = OwnRequests {
            paths: vec!["/".into()],
            routes: Vec::new(),
        };
        let own = OwnFilter::new(&root);
        let s = sample("x", labels(&[("handler", "")]), 1.0);
        assert!(own.own_route(&s, &mut RouteInfo::default()).is_none());
    }

    #[test]
    fn app_gauges_are_summed_under_one_name() {
        let body = "# TYPE app_active_sessions gauge\n\
                    app_active_sessions{region=\"a\"} 3\n\
                    app_active_sessions{region=\"b\"} 4\n\
                    # TYPE ws_connections gauge\n\
                    ws_connections 9\n\
                    # TYPE writes_total counter\n\
                    writes_total 1\n";
        let mut c = config();
        c.detect = false;
        c.gauges = vec![
            GaugeSignal {
                gauge: "app_active_sessions".into(),
                name: "active_sessions".into(),
            },
            GaugeSignal {
                gauge: "ws_connections".into(),
                name: "ws_connections".into(),
            },
            GaugeSignal {
                gauge: "writes_total".into(),
                name: "writes".into(),
            },
            GaugeSignal {
                gauge: "db_write_queue".into(),
                name: "db_write_queue".into(),
            },
        ];
        let d = run(&classic(body), &c);
        assert_eq!(
            lines(&d),
            [
                "stack_app_gauge{gauge=\"active_sessions\"} 7",
                "stack_app_gauge{gauge=\"ws_connections\"} 9",
            ]
        );
        assert_eq!(
            notes(&d),
            [
                (
                    "gauge: app_active_sessions as active_sessions (configured)".to_owned(),
                    false
                ),
                ("gauge: ws_connections (configured)".to_owned(), false),
                (
                    "gauge: writes_total is a counter, not a gauge".to_owned(),
                    true
                ),
                (
                    "gauge: db_write_queue is not in the scrape".to_owned(),
                    true
                ),
            ]
        );
    }

    #[test]
    fn unit_words_inside_a_name() {
        let f = MetricFamily::new(
            "django_http_requests_latency_seconds_by_view_method",
            MetricType::Histogram,
            "",
        );
        assert_eq!(unit_of(&f), Some(TimeUnit::Seconds));
        let f = MetricFamily::new("job_ms_total_by_queue", MetricType::Histogram, "");
        assert_eq!(unit_of(&f), None, "`ms` inside a name is not a unit");
        assert_eq!(seconds_text(0.1), "100ms");
        assert_eq!(seconds_text(0.035), "35ms");
        assert_eq!(seconds_text(2.5), "2.5s");
    }
}
