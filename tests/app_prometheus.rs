//! The invariant of docs/apps.md, checked with a real Prometheus: the series it stores
//! when it scrapes the exporter equal, series by series, those it stores when it scrapes
//! the app directly (same names, label sets plus ours, values, explicit timestamps), and
//! the target metadata (type, HELP, UNIT) agree but for an exact list of exceptions the
//! formats force. Both jobs scrape at once, so both see the same app.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use common::test_app::{rich_openmetrics, rich_timestamp_ms, FormatMode, TestApp};
use common::{http_get, urlencode, wait_until, ExporterProcess, ScrapeJob, TempPrometheus};
use stack_exporter::exposition::parse::{parse, ParseLimits};
use stack_exporter::exposition::Format;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A stored series: every label, `__name__` included, as the API returns them.
type Series = BTreeMap<String, String>;

/// Metric name → (type, help, unit), as `/api/v1/targets/metadata` lists one target's.
type Metadata = BTreeMap<String, (String, String, String)>;

/// The exporter's own families, which have no counterpart at the app: self-metrics and
/// the golden signals derived from the app's (the test app's `app_http_requests_total`
/// is detected as its request counter).
fn is_exporter_own(name: &str) -> bool {
    name.starts_with("stack_exporter_")
        || name.starts_with("process_")
        || name.starts_with("stack_request")
        || name.starts_with("stack_slow_request")
        || name == "stack_app_gauge"
        || name == "stack_queue_depth"
}

/// Series Prometheus makes up per target rather than reads from it.
fn is_synthetic(name: &str) -> bool {
    name == "up" || name.starts_with("scrape_")
}

fn api(prometheus: &TempPrometheus, path_and_query: &str) -> serde_json::Value {
    let url = format!("{}{path_and_query}", prometheus.url());
    let response = http_get(&url, &[]);
    let json = response.json();
    assert!(
        response.status == 200 && json["status"] == "success",
        "GET {url}: HTTP {}: {json}",
        response.status
    );
    json
}

fn labels_of(metric: &serde_json::Value) -> Series {
    metric
        .as_object()
        .expect("a series' labels are an object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

/// The latest value of every series `selector` matches, keyed by its labels without
/// `job`/`instance` and passed through `normalize`. Values stay the API's strings, so
/// NaN, ±Inf and -0 compare exactly.
fn stored(
    prometheus: &TempPrometheus,
    selector: &str,
    normalize: impl Fn(&mut Series),
) -> BTreeMap<Series, String> {
    let answer = prometheus.query(selector);
    assert_eq!(answer["data"]["resultType"], "vector", "{answer}");
    let mut out = BTreeMap::new();
    for item in answer["data"]["result"].as_array().into_iter().flatten() {
        let mut labels = labels_of(&item["metric"]);
        let name = labels.get("__name__").cloned().unwrap_or_default();
        if is_synthetic(&name) || is_exporter_own(&name) {
            continue;
        }
        labels.remove("job");
        labels.remove("instance");
        normalize(&mut labels);
        let value = item["value"][1].as_str().unwrap_or("?").to_owned();
        let display = series_text(&labels);
        assert!(
            out.insert(labels, value).is_none(),
            "{selector}: two series normalize to {display}"
        );
    }
    out
}

/// Undoes what the exporter adds: `source`/`team`, and the app's own `source` label
/// that it moved to `exported_source`.
fn strip_ours(labels: &mut Series) {
    assert_eq!(
        labels.remove("source").as_deref(),
        Some("app"),
        "{labels:?}"
    );
    assert_eq!(labels.remove("team").as_deref(), Some("core"), "{labels:?}");
    if let Some(own) = labels.remove("exported_source") {
        labels.insert("source".into(), own);
    }
}

fn series_text(labels: &Series) -> String {
    let name = labels.get("__name__").map(String::as_str).unwrap_or("");
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{name}{{{}}}", rest.join(","))
}

/// Missing, extra and different entries of `via` against `direct`, one per line.
fn diff<K: Ord, V: PartialEq + std::fmt::Debug>(
    direct: &BTreeMap<K, V>,
    via: &BTreeMap<K, V>,
    show: impl Fn(&K) -> String,
) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in direct {
        match via.get(k) {
            None => out.push(format!("missing via the exporter: {} {v:?}", show(k))),
            Some(w) if w != v => out.push(format!(
                "different: {} direct {v:?}, via the exporter {w:?}",
                show(k)
            )),
            Some(_) => {}
        }
    }
    for (k, w) in via {
        if !direct.contains_key(k) {
            out.push(format!("extra via the exporter: {} {w:?}", show(k)));
        }
    }
    out
}

fn target_metadata(prometheus: &TempPrometheus, job: &str) -> Metadata {
    let selector = urlencode(&format!("{{job=\"{job}\"}}"));
    let answer = api(
        prometheus,
        &format!("/api/v1/targets/metadata?match_target={selector}"),
    );
    let mut out = Metadata::new();
    for entry in answer["data"].as_array().into_iter().flatten() {
        let field = |f: &str| entry[f].as_str().unwrap_or_default().to_owned();
        let name = field("metric");
        if is_exporter_own(&name) {
            continue;
        }
        let meta = (field("type"), field("help"), field("unit"));
        assert!(
            out.insert(name.clone(), meta).is_none(),
            "{job}: {name} listed twice"
        );
    }
    out
}

/// Classic TYPE lines name the sample (`foo_total`), OpenMetrics ones the family
/// (`foo`), and Prometheus keys metadata by that name: renames `direct`'s counters to
/// the names the same series carry in OpenMetrics. Returns the names renamed.
fn openmetrics_counter_names(meta: &mut Metadata) -> Vec<String> {
    let renamed: Vec<String> = meta
        .iter()
        .filter(|(name, (kind, _, _))| kind == "counter" && name.ends_with("_total"))
        .map(|(name, _)| name.clone())
        .collect();
    for name in &renamed {
        if let Some(entry) = meta.remove(name) {
            let family = name.trim_end_matches("_total").to_owned();
            assert!(meta.insert(family, entry).is_none(), "{name}: name clash");
        }
    }
    renamed
}

/// Every metadata field that differs between the jobs, one line each.
fn metadata_diff(direct: &Metadata, via: &Metadata) -> Vec<String> {
    let mut out = Vec::new();
    for (name, d) in direct {
        let Some(v) = via.get(name) else {
            out.push(format!("{name}: missing via the exporter"));
            continue;
        };
        for (field, d, v) in [
            ("type", &d.0, &v.0),
            ("help", &d.1, &v.1),
            ("unit", &d.2, &v.2),
        ] {
            if d != v {
                out.push(format!("{name}: {field} direct {d:?}, via {v:?}"));
            }
        }
    }
    for name in via.keys().filter(|n| !direct.contains_key(*n)) {
        out.push(format!("{name}: only via the exporter"));
    }
    out
}

/// The raw samples of one series over the last `range`: (Unix ms, value).
fn raw_samples(prometheus: &TempPrometheus, selector: &str, range: &str) -> Vec<(i64, String)> {
    let answer = prometheus.query(&format!("{selector}[{range}]"));
    assert_eq!(answer["data"]["resultType"], "matrix", "{answer}");
    let result = answer["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        result.len() <= 1,
        "{selector} matches several series: {answer}"
    );
    result
        .first()
        .and_then(|s| s["values"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|pair| {
            // Timestamps come back as seconds with millisecond decimals.
            let seconds = pair[0].as_f64().expect("a sample timestamp");
            let ms = (seconds * 1000.0).round() as i64;
            (ms, pair[1].as_str().unwrap_or("?").to_owned())
        })
        .collect()
}

fn selector(labels: &[(String, String)], name: &str, job: &str) -> String {
    let mut s = format!("{name}{{job=\"{job}\"");
    for (k, v) in labels {
        let escaped = v.replace('\\', "\\\\").replace('"', "\\\"");
        let _ = write!(s, ",{k}=\"{escaped}\"");
    }
    s.push('}');
    s
}

/// What one run found beyond the series, which must be equal in every mode.
struct Compared {
    series: usize,
    /// Direct counters renamed to their OpenMetrics family name before comparing.
    renamed: Vec<String>,
    /// Metadata fields that still differ.
    metadata: Vec<String>,
}

fn compare(mode: FormatMode) -> Compared {
    let app = TestApp::start();
    app.set_format_mode(mode);
    let exporter = ExporterProcess::start(
        &format!(
            "apps:\n  - name: app\n    interval: 1s\n    timeout: 900ms\n    \
             labels: {{ team: core }}\n    metrics_url: {}\n",
            app.url("/metrics")
        ),
        &[],
    );
    wait_until(TIMEOUT, "the exporter polled the app", || {
        exporter.get("/ready").status == 200
    });
    let prometheus = TempPrometheus::start_jobs(&[
        ScrapeJob::new("direct", &[&app.addr().to_string()]),
        ScrapeJob::new("via", &[exporter.addr()]),
    ]);

    // Two good scrapes of each target, and two of the exporter in which its last poll
    // of the app had succeeded, so that both jobs hold the app's whole exposition.
    for what in [
        "up{job=\"direct\"}",
        "up{job=\"via\"}",
        "stack_exporter_source_up{job=\"via\",source=\"app\"}",
    ] {
        prometheus.wait_for(
            &format!("{what} == 1 and count_over_time({what}[5m]) >= 2 and min_over_time({what}[5m]) == 1"),
            |v| !common::vector_samples(v).is_empty(),
            TIMEOUT,
        );
    }
    let requests = app.requests_to("/metrics");
    assert!(
        requests.iter().all(|r| r
            .header("accept")
            .is_some_and(|a| a.starts_with("application/openmetrics-text"))),
        "Prometheus and the exporter both ask for OpenMetrics first"
    );

    // Every series, with its latest value.
    let direct = stored(&prometheus, "{job=\"direct\"}", |_| {});
    let via = stored(&prometheus, "{job=\"via\",source=\"app\"}", strip_ours);
    let differences = diff(&direct, &via, series_text);
    assert!(
        differences.is_empty(),
        "{mode:?}: {} of {} series differ:\n{}",
        differences.len(),
        direct.len(),
        differences.join("\n")
    );
    // Prometheus stores every sample the rich body writes, so the comparison covered
    // all of them.
    let written = parse(
        rich_openmetrics(0).as_bytes(),
        Format::OpenMetrics,
        &ParseLimits::default(),
    )
    .expect("the rich body parses");
    let samples: Vec<_> = written.iter().flat_map(|f| &f.samples).collect();
    assert_eq!(direct.len(), samples.len(), "{mode:?}: {direct:#?}");
    assert!(direct.len() >= 60, "{mode:?}: only {} series", direct.len());

    // Explicit timestamps: both jobs store the app's own (ten seconds back, on a
    // `.250`), not their scrape times, and the same value at a timestamp both stored.
    let timestamped: Vec<_> = samples
        .iter()
        .filter(|s| s.timestamp_ms.is_some())
        .collect();
    assert_eq!(timestamped.len(), 3, "{timestamped:?}");
    for sample in timestamped {
        let shown = format!("{}{:?}", sample.name, sample.labels);
        let direct_sel = selector(&sample.labels, &sample.name, "direct");
        let mut ours = sample.labels.clone();
        ours.push(("source".into(), "app".into()));
        let via_sel = selector(&ours, &sample.name, "via");
        for (job, sel) in [("direct", &direct_sel), ("via", &via_sel)] {
            let samples = raw_samples(&prometheus, sel, "5m");
            assert!(!samples.is_empty(), "{mode:?}: nothing stored for {sel}");
            for (t, _) in samples {
                assert_eq!(
                    rich_timestamp_ms(t + 10_000),
                    t,
                    "{mode:?}: {sel} stored at {t}, not a timestamp the app writes"
                );
            }
            let age = prometheus.query_vector(&format!(
                "timestamp(up{{job=\"{job}\"}}) - on(job) timestamp({sel})"
            ));
            assert!(
                age.len() == 1 && age[0].1 > 5.0,
                "{mode:?}: {sel} stored at its scrape time: {age:?}"
            );
        }
        // The two jobs fetch the app at different moments, so they share a timestamp
        // only once both fetched it within the same second.
        let mut shared = Vec::new();
        wait_until(
            TIMEOUT,
            &format!("a timestamp both jobs stored for {shown}"),
            || {
                let direct: BTreeMap<i64, String> = raw_samples(&prometheus, &direct_sel, "5m")
                    .into_iter()
                    .collect();
                shared = raw_samples(&prometheus, &via_sel, "5m")
                    .into_iter()
                    .filter_map(|(t, v)| direct.get(&t).map(|d| (t, d.clone(), v)))
                    .collect();
                !shared.is_empty()
            },
        );
        for (t, d, v) in &shared {
            assert_eq!(d, v, "{mode:?}: {shown} at {t}: direct {d}, via {v}");
        }
    }

    // Metadata, with classic counters under their OpenMetrics names.
    let mut direct_meta = target_metadata(&prometheus, "direct");
    let via_meta = target_metadata(&prometheus, "via");
    assert!(direct_meta.len() >= 15, "{mode:?}: {direct_meta:#?}");
    let renamed = openmetrics_counter_names(&mut direct_meta);
    let metadata = metadata_diff(&direct_meta, &via_meta);

    // The exporter left nothing out, and Prometheus complained about nothing.
    let dropped = prometheus.query_vector("stack_exporter_source_series_dropped{job=\"via\"} != 0");
    assert!(dropped.is_empty(), "{mode:?}: {dropped:?}");
    let log = prometheus.log();
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("level=warn") || l.contains("level=error"))
        .collect();
    assert!(complaints.is_empty(), "{mode:?}: {complaints:#?}");

    Compared {
        series: direct.len(),
        renamed,
        metadata,
    }
}

#[test]
fn openmetrics_app_stores_the_same_series_through_the_exporter() {
    let compared = compare(FormatMode::Negotiate);
    eprintln!("series compared: {}", compared.series);
    assert_eq!(compared.renamed, Vec::<String>::new());
    assert_eq!(compared.metadata, Vec::<String>::new());
}

/// The app writes text 0.0.4; the exporter serves Prometheus OpenMetrics.
#[test]
fn classic_app_stores_the_same_series_through_the_exporter() {
    let compared = compare(FormatMode::ClassicOnly);
    eprintln!("series compared: {}", compared.series);
    assert_eq!(
        compared.renamed,
        [
            "app_bytes_sent_total",
            "app_cpu_seconds_total",
            "app_errors_total",
            "app_http_requests_total",
        ]
    );
    // A counter without `_total` has no OpenMetrics form: `unknown`, as the app's own
    // OpenMetrics output types it too.
    assert_eq!(
        compared.metadata,
        ["app_legacy_events: type direct \"counter\", via \"unknown\""]
    );
}
