//! Bodies written by real exporters, parsed and re-encoded: the Python client (every
//! metric type, both formats; `tests/fixtures/gen_python_client.py` made them) and
//! Prometheus 2.42's own `/metrics` (classic; it serves no OpenMetrics there).

use stack_exporter::exposition::parse::{parse, parse_detailed, ParseLimits, Parsed};
use stack_exporter::exposition::{assemble, EncodedSnapshot, Format};
use stack_exporter::model::{MetricFamily, MetricType};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parsed(name: &str, format: Format) -> Parsed {
    parse_detailed(&fixture(name), format, &ParseLimits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn family<'a>(p: &'a Parsed, name: &str) -> &'a MetricFamily {
    p.families
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no family {name} in {:?}", names(p)))
}

fn names(p: &Parsed) -> Vec<(&str, MetricType)> {
    p.families
        .iter()
        .map(|f| (f.name.as_str(), f.kind))
        .collect()
}

/// Every line that is not a comment is one sample.
fn sample_lines(body: &[u8]) -> usize {
    String::from_utf8_lossy(body)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count()
}

fn total(p: &Parsed) -> usize {
    p.families.iter().map(|f| f.samples.len()).sum()
}

/// Re-encodes `families` in `format` and parses them again.
fn reencode(families: &[MetricFamily], format: Format) -> (Vec<MetricFamily>, Vec<String>) {
    let snapshot = EncodedSnapshot::encode(families.to_vec());
    let mut body = Vec::new();
    let conflicts = assemble(&[("app", &snapshot)], format, &mut body);
    let again = parse(&body, format, &ParseLimits::default())
        .unwrap_or_else(|e| panic!("re-encoded body: {e}\n{}", String::from_utf8_lossy(&body)));
    (again, conflicts.into_iter().map(|c| c.family).collect())
}

fn sorted(mut f: Vec<MetricFamily>) -> Vec<MetricFamily> {
    f.retain(|f| !f.samples.is_empty());
    f.sort_by(|a, b| a.name.cmp(&b.name));
    for s in f.iter_mut().flat_map(|f| f.samples.iter_mut()) {
        if s.value.is_nan() {
            s.value = -12345.0;
        }
    }
    f
}

/// `families` as they come back from an OpenMetrics re-encoding: a counter with bare
/// (`_total`-less) samples is `unknown` there.
fn as_openmetrics(families: &[MetricFamily]) -> Vec<MetricFamily> {
    let mut want = families.to_vec();
    for f in &mut want {
        if f.kind == MetricType::Counter && f.samples.iter().all(|s| s.name == f.name) {
            f.kind = MetricType::Unknown;
        }
    }
    want
}

#[test]
fn python_client_openmetrics() {
    let body = fixture("python_client.om.txt");
    let p = parsed("python_client.om.txt", Format::OpenMetrics);
    assert_eq!(total(&p), sample_lines(&body));
    assert_eq!(p.duplicates, 0);
    let kinds = [
        ("http_requests", MetricType::Counter),
        ("queue_depth", MetricType::Gauge),
        ("request_duration_seconds", MetricType::Histogram),
        ("payload_bytes", MetricType::Summary),
        ("build", MetricType::Info),
        ("task_state", MetricType::StateSet),
        ("temperature_celsius", MetricType::Gauge),
        ("queue_wait_seconds", MetricType::GaugeHistogram),
        ("feature_flags", MetricType::StateSet),
    ];
    assert_eq!(names(&p), kinds);
    let requests = family(&p, "http_requests");
    assert_eq!(requests.samples.len(), 6);
    assert_eq!(
        requests.samples[0].labels[1],
        ("path".to_owned(), "/a\"b\\c\nd".to_owned())
    );
    assert_eq!(requests.samples[2].labels[1].1, "/ü✓");
    let depth = family(&p, "queue_depth");
    assert_eq!(
        depth.help,
        "Jobs waiting.\nSecond line with \\ and \"quotes\"."
    );
    assert!(depth.samples[1].value.is_nan());
    assert_eq!(depth.samples[2].value, f64::INFINITY);
    assert_eq!(depth.samples[4].value, 1.25e-7);
    assert_eq!(family(&p, "payload_bytes").unit, "bytes");
    assert_eq!(family(&p, "build").samples[0].name, "build_info");
    // The counter's and the histogram's exemplars, with their trace ids.
    assert_eq!(p.exemplars.len(), 2);
    assert_eq!(p.exemplars_dropped, 0);
    assert_eq!(p.exemplars[0].labels[0].1, "abc123");
    assert!(p.exemplars[0].timestamp_ms.is_some());
    let ex = &p.exemplars[1];
    assert_eq!(
        p.families[ex.family].samples[ex.sample].labels[0].1,
        "0.005"
    );

    // Re-exposed as OpenMetrics, the same families come back.
    let (again, conflicts) = reencode(&p.families, Format::OpenMetrics);
    assert!(conflicts.is_empty(), "{conflicts:?}");
    assert_eq!(sorted(again), sorted(p.families.clone()));
}

#[test]
fn python_client_classic() {
    let body = fixture("python_client.prom");
    let p = parsed("python_client.prom", Format::Classic);
    assert_eq!(total(&p), sample_lines(&body));
    // `http_requests_created` is a family of its own here; the counter is still the
    // model's `http_requests`, so OpenMetrics can type it as the counter it is.
    let requests = family(&p, "http_requests");
    assert_eq!(requests.kind, MetricType::Counter);
    assert!(requests
        .samples
        .iter()
        .all(|s| s.name == "http_requests_total"));
    // The client writes `_created` (and gaugehistogram `_gsum`/`_gcount`) as gauges of
    // their own in classic text; that is how Prometheus stores them too.
    assert_eq!(family(&p, "http_requests_created").kind, MetricType::Gauge);
    assert_eq!(family(&p, "queue_wait_seconds").kind, MetricType::Histogram);
    assert_eq!(
        family(&p, "queue_wait_seconds_gsum").kind,
        MetricType::Gauge
    );
    // Classic HELP keeps `"` raw and undoes `\\` and `\n`.
    assert_eq!(
        family(&p, "queue_depth").help,
        "Jobs waiting.\nSecond line with \\ and \"quotes\"."
    );
    assert_eq!(family(&p, "build_info").kind, MetricType::Gauge);

    // Re-encoded as classic text, every family comes back: classic output has no
    // `_created` samples, so nothing there clashes with the client's `<name>_created`
    // gauges.
    let (again, conflicts) = reencode(&p.families, Format::Classic);
    assert!(conflicts.is_empty(), "{conflicts:?}");
    assert_eq!(sorted(again), sorted(p.families.clone()));

    // As OpenMetrics too: the histogram and summary parsed from classic text have no
    // `_created` samples, so their `<name>_created` gauges stay gauges of their own.
    for owner in ["request_duration_seconds", "payload_bytes"] {
        assert!(family(&p, owner)
            .samples
            .iter()
            .all(|s| !s.name.ends_with("_created")));
        assert_eq!(
            family(&p, &format!("{owner}_created")).kind,
            MetricType::Gauge
        );
    }
    let (again, conflicts) = reencode(&p.families, Format::OpenMetrics);
    assert!(conflicts.is_empty(), "{conflicts:?}");
    let want = as_openmetrics(&p.families);
    let again = sorted(again);
    for name in [
        "http_requests_created",
        "request_duration_seconds_created",
        "payload_bytes_created",
    ] {
        let f = again
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name} missing from the OpenMetrics re-encoding"));
        assert_eq!(f.kind, MetricType::Gauge, "{name}");
        assert_eq!(f.samples.len(), family(&p, name).samples.len(), "{name}");
    }
    assert_eq!(again, sorted(want));
}

#[test]
fn prometheus_own_metrics_classic() {
    let body = fixture("prometheus_2.42.prom");
    let p = parsed("prometheus_2.42.prom", Format::Classic);
    assert_eq!(total(&p), sample_lines(&body));
    assert!(p.families.len() > 100, "{}", p.families.len());
    assert!(p
        .families
        .iter()
        .all(|f| f.kind != MetricType::Unknown || f.samples.is_empty() || f.help.is_empty()));
    let gc = family(&p, "go_gc_duration_seconds");
    assert_eq!(gc.kind, MetricType::Summary);
    assert!(gc
        .samples
        .iter()
        .any(|s| s.name == "go_gc_duration_seconds_count"));
    let http = family(&p, "prometheus_tsdb_compaction_duration_seconds");
    assert_eq!(http.kind, MetricType::Histogram);
    assert!(http
        .samples
        .iter()
        .any(|s| s.labels.iter().any(|(k, v)| k == "le" && v == "+Inf")));
    assert_eq!(
        family(&p, "prometheus_build_info").samples[0].labels.len(),
        6
    );
    // Go counters are `*_total`-named, so they get the model's counter names, except
    // where a gauge already has that name.
    assert_eq!(
        family(&p, "promhttp_metric_handler_requests").kind,
        MetricType::Counter
    );
    assert_eq!(
        family(&p, "go_memstats_alloc_bytes").kind,
        MetricType::Gauge
    );
    assert_eq!(
        family(&p, "go_memstats_alloc_bytes_total").kind,
        MetricType::Counter
    );
    for format in [Format::Classic, Format::OpenMetrics] {
        let (again, conflicts) = reencode(&p.families, format);
        assert!(conflicts.is_empty(), "{format:?}: {conflicts:?}");
        let want = match format {
            Format::Classic => p.families.clone(),
            Format::OpenMetrics => as_openmetrics(&p.families),
        };
        assert_eq!(sorted(again), sorted(want), "{format:?}");
    }
}
