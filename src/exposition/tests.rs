//! Behaviour of encode + assemble together, checked on exact output text.

use super::*;
use crate::model::{labels, MetricFamily, MetricType, Sample};

fn sample(name: &str, pairs: &[(&str, &str)], value: f64) -> Sample {
    Sample {
        name: name.to_owned(),
        labels: labels(pairs),
        value,
        timestamp_ms: None,
    }
}

fn family(name: &str, kind: MetricType, help: &str, samples: Vec<Sample>) -> MetricFamily {
    let mut f = MetricFamily::new(name, kind, help);
    f.samples = samples;
    f
}

fn render(parts: &[(&str, &EncodedSnapshot)], format: Format) -> (String, Vec<TypeConflict>) {
    let mut out = Vec::new();
    let conflicts = assemble(parts, format, &mut out);
    (String::from_utf8(out).expect("UTF-8 output"), conflicts)
}

fn single(families: Vec<MetricFamily>, format: Format) -> String {
    let snap = EncodedSnapshot::encode(families);
    let (text, conflicts) = render(&[("s", &snap)], format);
    assert!(conflicts.is_empty(), "{conflicts:?}");
    text
}

fn rich_snapshot() -> Vec<MetricFamily> {
    let mut ts = sample("app_temp_celsius", &[("room", "a")], 21.5);
    ts.timestamp_ms = Some(1_700_000_000_123);
    let mut requests = family(
        "app_requests",
        MetricType::Counter,
        "Requests \"served\".\nSecond line \\ end.",
        vec![
            sample("app_requests_total", &[("code", "200")], 10.0),
            sample("app_requests_created", &[("code", "200")], 1_700_000_000.5),
        ],
    );
    requests.unit = String::new();
    let mut latency = family(
        "app_latency_seconds",
        MetricType::Histogram,
        "Latency.",
        vec![
            sample("app_latency_seconds_bucket", &[("le", "0.1")], 1.0),
            sample("app_latency_seconds_bucket", &[("le", "+Inf")], 2.0),
            sample("app_latency_seconds_sum", &[], 0.25),
            sample("app_latency_seconds_count", &[], 2.0),
        ],
    );
    latency.unit = "seconds".to_owned();
    let mut temp = family(
        "app_temp_celsius",
        MetricType::Gauge,
        "Temperature.",
        vec![ts],
    );
    temp.unit = "kelvin".to_owned();
    vec![latency, requests, temp]
}

#[test]
fn classic_exact_output() {
    let text = single(rich_snapshot(), Format::Classic);
    let want = "\
# HELP app_latency_seconds Latency.
# TYPE app_latency_seconds histogram
app_latency_seconds_bucket{le=\"0.1\"} 1
app_latency_seconds_bucket{le=\"+Inf\"} 2
app_latency_seconds_sum 0.25
app_latency_seconds_count 2
# HELP app_requests_total Requests \"served\".\\nSecond line \\\\ end.
# TYPE app_requests_total counter
app_requests_total{code=\"200\"} 10
# HELP app_temp_celsius Temperature.
# TYPE app_temp_celsius gauge
app_temp_celsius{room=\"a\"} 21.5 1700000000123
";
    assert_eq!(text, want);
}

#[test]
fn openmetrics_exact_output() {
    let text = single(rich_snapshot(), Format::OpenMetrics);
    let want = "\
# HELP app_latency_seconds Latency.
# TYPE app_latency_seconds histogram
# UNIT app_latency_seconds seconds
app_latency_seconds_bucket{le=\"0.1\"} 1
app_latency_seconds_bucket{le=\"+Inf\"} 2
app_latency_seconds_sum 0.25
app_latency_seconds_count 2
# HELP app_requests Requests \\\"served\\\".\\nSecond line \\\\ end.
# TYPE app_requests counter
app_requests_total{code=\"200\"} 10
app_requests_created{code=\"200\"} 1700000000.5
# HELP app_temp_celsius Temperature.
# TYPE app_temp_celsius gauge
app_temp_celsius{room=\"a\"} 21.5 1700000000.123
# EOF
";
    assert_eq!(text, want);
}

#[test]
fn empty_input_still_terminates_openmetrics() {
    assert_eq!(single(Vec::new(), Format::OpenMetrics), "# EOF\n");
    assert_eq!(single(Vec::new(), Format::Classic), "");
    let (text, _) = render(&[], Format::OpenMetrics);
    assert_eq!(text, "# EOF\n");
}

#[test]
fn assemble_appends_to_reused_buffer() {
    let snap = EncodedSnapshot::encode(vec![MetricFamily::gauge("g", "G.").with_value(1.0)]);
    let mut out = b"prefix\n".to_vec();
    assemble(&[("s", &snap)], Format::Classic, &mut out);
    assert_eq!(out, b"prefix\n# HELP g G.\n# TYPE g gauge\ng 1\n");
}

#[test]
fn two_sources_merge_under_one_header() {
    let a = EncodedSnapshot::encode(vec![
        family(
            "up",
            MetricType::Gauge,
            "Help from a.",
            vec![sample("up", &[("source", "a")], 1.0)],
        ),
        family(
            "zz_only_a",
            MetricType::Gauge,
            "Z.",
            vec![sample("zz_only_a", &[("source", "a")], 3.0)],
        ),
    ]);
    let b = EncodedSnapshot::encode(vec![
        family(
            "up",
            MetricType::Gauge,
            "Help from b.",
            vec![
                sample("up", &[("source", "b"), ("shard", "1")], 0.0),
                sample("up", &[("source", "b"), ("shard", "2")], 1.0),
            ],
        ),
        family(
            "aa_only_b",
            MetricType::Gauge,
            "A.",
            vec![sample("aa_only_b", &[("source", "b")], 2.0)],
        ),
    ]);
    let (text, conflicts) = render(&[("a", &a), ("b", &b)], Format::Classic);
    assert!(conflicts.is_empty());
    let want = "\
# HELP aa_only_b A.
# TYPE aa_only_b gauge
aa_only_b{source=\"b\"} 2
# HELP up Help from a.
# TYPE up gauge
up{source=\"a\"} 1
up{source=\"b\",shard=\"1\"} 0
up{source=\"b\",shard=\"2\"} 1
# HELP zz_only_a Z.
# TYPE zz_only_a gauge
zz_only_a{source=\"a\"} 3
";
    assert_eq!(text, want);
    // Reversing the parts reverses who supplies HELP and whose samples come first.
    let (text, _) = render(&[("b", &b), ("a", &a)], Format::OpenMetrics);
    assert_eq!(text.matches("# TYPE up gauge").count(), 1);
    assert!(text.contains(
        "# HELP up Help from b.\n# TYPE up gauge\nup{source=\"b\",shard=\"1\"} 0\nup{source=\"b\",shard=\"2\"} 1\nup{source=\"a\"} 1\n"
    ));
}

#[test]
fn type_conflict_keeps_first_part_and_reports() {
    let a = EncodedSnapshot::encode(vec![family(
        "jobs",
        MetricType::Gauge,
        "Jobs.",
        vec![sample("jobs", &[("source", "a")], 1.0)],
    )]);
    let b = EncodedSnapshot::encode(vec![family(
        "jobs",
        MetricType::Summary,
        "Jobs.",
        vec![sample("jobs_count", &[("source", "b")], 5.0)],
    )]);
    for format in [Format::Classic, Format::OpenMetrics] {
        let (text, conflicts) = render(&[("a", &a), ("b", &b)], format);
        assert_eq!(
            conflicts,
            vec![TypeConflict {
                source: "b".into(),
                family: "jobs".into(),
                kept: MetricType::Gauge,
                dropped: MetricType::Summary,
            }]
        );
        assert!(text.contains("jobs{source=\"a\"} 1\n"));
        assert!(!text.contains("source=\"b\""), "{text}");
        assert_eq!(text.matches("# TYPE").count(), 1);
    }
}

#[test]
fn same_name_two_types_within_one_source_is_a_conflict() {
    let snap = EncodedSnapshot::encode(vec![
        MetricFamily::gauge("x", "X.").with_value(1.0),
        MetricFamily::new("x", MetricType::Unknown, "X.").with_value(2.0),
        MetricFamily::gauge("x", "X again.").with_value(3.0),
    ]);
    let (text, conflicts) = render(&[("s", &snap)], Format::Classic);
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].dropped, MetricType::Unknown);
    // The two gauge families merge; the value 3 is a duplicate series of value 1.
    assert_eq!(text, "# HELP x X.\n# TYPE x gauge\nx 1\n");
    assert_eq!(snap.duplicates_dropped(), 1);
}

#[test]
fn family_name_colliding_with_sample_name_is_dropped() {
    let histogram = EncodedSnapshot::encode(vec![family(
        "foo",
        MetricType::Histogram,
        "Foo.",
        vec![
            sample("foo_bucket", &[("le", "+Inf")], 1.0),
            sample("foo_sum", &[], 1.0),
            sample("foo_count", &[], 1.0),
        ],
    )]);
    let gauge = EncodedSnapshot::encode(vec![
        MetricFamily::gauge("foo_bucket", "Bucket gauge.").with_value(7.0)
    ]);

    let (text, conflicts) = render(&[("h", &histogram), ("g", &gauge)], Format::Classic);
    assert_eq!(
        conflicts,
        vec![TypeConflict {
            source: "g".into(),
            family: "foo_bucket".into(),
            kept: MetricType::Histogram,
            dropped: MetricType::Gauge,
        }]
    );
    assert!(!text.contains("foo_bucket 7"));
    assert!(!text.contains("# TYPE foo_bucket"));

    let (text, conflicts) = render(&[("g", &gauge), ("h", &histogram)], Format::OpenMetrics);
    assert_eq!(
        conflicts,
        vec![TypeConflict {
            source: "h".into(),
            family: "foo".into(),
            kept: MetricType::Gauge,
            dropped: MetricType::Histogram,
        }]
    );
    assert_eq!(
        text,
        "# HELP foo_bucket Bucket gauge.\n# TYPE foo_bucket gauge\nfoo_bucket 7\n# EOF\n"
    );

    // A counter `c` owns `c_total` even in a single source.
    let snap = EncodedSnapshot::encode(vec![
        MetricFamily::counter("c", "C.").with_value(1.0),
        MetricFamily::gauge("c_total", "Not a counter.").with_value(2.0),
    ]);
    let (text, conflicts) = render(&[("s", &snap)], Format::Classic);
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].family, "c_total");
    assert_eq!(
        text,
        "# HELP c_total C.\n# TYPE c_total counter\nc_total 1\n"
    );
}

#[test]
fn duplicates_are_dropped_regardless_of_label_order() {
    let snap = EncodedSnapshot::encode(vec![family(
        "g",
        MetricType::Gauge,
        "G.",
        vec![
            sample("g", &[("a", "1"), ("b", "2")], 1.0),
            sample("g", &[("b", "2"), ("a", "1")], 2.0),
            sample("g", &[("a", "1"), ("b", "3")], 3.0),
            sample("g", &[("a", "1")], 4.0),
            sample("g", &[("a", "1"), ("b", "2")], 5.0),
            sample("g", &[], 6.0),
            sample("g", &[], 7.0),
        ],
    )]);
    assert_eq!(snap.duplicates_dropped(), 3);
    assert_eq!(snap.series(), 4);
    assert_eq!(
        single_from(&snap, Format::Classic),
        "# HELP g G.\n# TYPE g gauge\ng{a=\"1\",b=\"2\"} 1\ng{a=\"1\",b=\"3\"} 3\ng{a=\"1\"} 4\ng 6\n"
    );
}

#[test]
fn label_boundaries_are_part_of_series_identity() {
    // Concatenation-equal label sets must stay distinct series.
    let snap = EncodedSnapshot::encode(vec![family(
        "g",
        MetricType::Gauge,
        "G.",
        vec![
            sample("g", &[("a", "bc")], 1.0),
            sample("g", &[("ab", "c")], 2.0),
            sample("g", &[("a", ""), ("b", "c")], 3.0),
        ],
    )]);
    assert_eq!(snap.duplicates_dropped(), 0);
    assert_eq!(snap.series(), 3);
}

fn single_from(snap: &EncodedSnapshot, format: Format) -> String {
    render(&[("s", snap)], format).0
}

#[test]
fn invalid_names_are_dropped_and_counted() {
    let snap = EncodedSnapshot::encode(vec![
        family(
            "9bad",
            MetricType::Gauge,
            "Bad.",
            vec![sample("9bad", &[], 1.0), sample("9bad", &[("a", "b")], 1.0)],
        ),
        family(
            "ok",
            MetricType::Gauge,
            "Ok.",
            vec![
                sample("ok", &[("bad-label", "x")], 1.0),
                sample("ok", &[("__name__", "x")], 1.0),
                sample("ok", &[("", "x")], 1.0),
                sample("ok", &[("a", "1"), ("a", "2")], 1.0),
                sample("ok_other", &[], 1.0),
                sample("ok", &[("good", "x")], 2.0),
            ],
        ),
        family(
            "lat",
            MetricType::Histogram,
            "Lat.",
            vec![
                sample("lat_bucket", &[("le", "1")], 1.0),
                sample("lat", &[], 1.0),
                sample("lat_gsum", &[], 1.0),
            ],
        ),
        family(
            "q",
            MetricType::Summary,
            "Q.",
            vec![sample("q", &[("quantile", "0.5")], 1.0)],
        ),
    ]);
    assert_eq!(snap.invalid_dropped(), 9);
    assert_eq!(snap.series(), 3);
    let text = single_from(&snap, Format::Classic);
    assert!(!text.contains("9bad"), "{text}");
    assert!(text.contains("ok{good=\"x\"} 2\n"));
    assert!(text.contains("lat_bucket{le=\"1\"} 1\n"));
    assert!(text.contains("q{quantile=\"0.5\"} 1\n"));
    assert_eq!(text.matches('\n').count(), 9, "{text}");
}

#[test]
fn empty_families_have_no_header() {
    let snap = EncodedSnapshot::encode(vec![
        MetricFamily::gauge("empty", "Nothing."),
        family(
            "all_bad",
            MetricType::Gauge,
            "Bad.",
            vec![sample("x", &[], 1.0)],
        ),
        MetricFamily::gauge("full", "F.").with_value(1.0),
    ]);
    assert_eq!(snap.families().len(), 1);
    for format in [Format::Classic, Format::OpenMetrics] {
        let text = single_from(&snap, format);
        assert!(!text.contains("empty"));
        assert!(!text.contains("all_bad"));
        assert!(text.contains("# TYPE full gauge\nfull 1\n"));
    }
    // Only `_created` survives: nothing to write in classic text, so no header either.
    let snap = EncodedSnapshot::encode(vec![family(
        "c",
        MetricType::Counter,
        "C.",
        vec![sample("c_created", &[], 1.0)],
    )]);
    assert_eq!(single_from(&snap, Format::Classic), "");
    assert_eq!(
        single_from(&snap, Format::OpenMetrics),
        "# HELP c C.\n# TYPE c counter\nc_created 1\n# EOF\n"
    );
}

#[test]
fn counter_header_names_per_format() {
    let bare = family(
        "legacy_hits",
        MetricType::Counter,
        "Hits.",
        vec![
            sample("legacy_hits", &[("a", "1")], 4.0),
            sample("legacy_hits_total", &[("a", "2")], 5.0),
        ],
    );
    let snap = EncodedSnapshot::encode(vec![bare]);
    assert_eq!(snap.invalid_dropped(), 1, "mixed counter styles");
    assert_eq!(
        single_from(&snap, Format::Classic),
        "# HELP legacy_hits Hits.\n# TYPE legacy_hits counter\nlegacy_hits{a=\"1\"} 4\n"
    );
    assert_eq!(
        single_from(&snap, Format::OpenMetrics),
        "# HELP legacy_hits Hits.\n# TYPE legacy_hits unknown\nlegacy_hits{a=\"1\"} 4\n# EOF\n"
    );

    let modern =
        EncodedSnapshot::encode(vec![MetricFamily::counter("hits", "Hits.").with_value(1.0)]);
    assert!(single_from(&modern, Format::Classic)
        .starts_with("# HELP hits_total Hits.\n# TYPE hits_total counter\n"));
    assert!(single_from(&modern, Format::OpenMetrics)
        .starts_with("# HELP hits Hits.\n# TYPE hits counter\n"));

    // The same family written in two counter styles by two sources cannot share a header.
    let legacy =
        EncodedSnapshot::encode(vec![
            MetricFamily::new("hits", MetricType::Counter, "H.").tap_push("hits", 2.0)
        ]);
    let (_, conflicts) = render(&[("m", &modern), ("l", &legacy)], Format::Classic);
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].source, "l");
}

trait TapPush {
    fn tap_push(self, name: &str, value: f64) -> Self;
}

impl TapPush for MetricFamily {
    fn tap_push(mut self, name: &str, value: f64) -> Self {
        self.samples.push(sample(name, &[], value));
        self
    }
}

#[test]
fn non_classic_types_map_to_classic_names() {
    let mut info = MetricFamily::new("build", MetricType::Info, "Build.");
    info.push(labels(&[("version", "1.2")]), 1.0);
    let mut state = MetricFamily::new("mode", MetricType::StateSet, "Mode.");
    state.push(labels(&[("mode", "primary")]), 1.0);
    let gh = family(
        "queue",
        MetricType::GaugeHistogram,
        "Queue.",
        vec![
            sample("queue_bucket", &[("le", "+Inf")], 3.0),
            sample("queue_gsum", &[], 9.0),
            sample("queue_gcount", &[], 3.0),
        ],
    );
    let snap = EncodedSnapshot::encode(vec![info, state, gh]);
    let classic = single_from(&snap, Format::Classic);
    assert!(classic.contains("# TYPE build_info gauge\nbuild_info{version=\"1.2\"} 1\n"));
    assert!(classic.contains("# TYPE mode gauge\n"));
    assert!(classic.contains("# TYPE queue untyped\nqueue_bucket{le=\"+Inf\"} 3\n"));
    let om = single_from(&snap, Format::OpenMetrics);
    assert!(om.contains("# TYPE build info\nbuild_info{version=\"1.2\"} 1\n"));
    assert!(om.contains("# TYPE mode stateset\n"));
    assert!(om.contains("# TYPE queue gaugehistogram\n"));
}

#[test]
fn unit_line_only_when_name_ends_with_unit() {
    let cases: &[(&str, &str, bool)] = &[
        ("req_duration_seconds", "seconds", true),
        ("req_duration", "seconds", false),
        ("req_durationseconds", "seconds", false),
        ("seconds", "seconds", false),
        ("mem_bytes", "", false),
    ];
    for &(name, unit, want) in cases {
        let mut f = MetricFamily::gauge(name, "H.").with_value(1.0);
        f.unit = unit.to_owned();
        let snap = EncodedSnapshot::encode(vec![f]);
        let om = single_from(&snap, Format::OpenMetrics);
        assert_eq!(om.contains("# UNIT"), want, "{name} / {unit}: {om}");
        if want {
            assert!(om.contains(&format!("# UNIT {name} {unit}\n")));
        }
        assert!(!single_from(&snap, Format::Classic).contains("# UNIT"));
    }
}

#[test]
fn help_may_be_absent() {
    let snap = EncodedSnapshot::encode(vec![MetricFamily::gauge("g", "").with_value(1.0)]);
    assert_eq!(single_from(&snap, Format::Classic), "# TYPE g gauge\ng 1\n");
}

#[test]
fn special_values_render() {
    let snap = EncodedSnapshot::encode(vec![family(
        "v",
        MetricType::Gauge,
        "V.",
        vec![
            sample("v", &[("k", "nan")], f64::NAN),
            sample("v", &[("k", "pinf")], f64::INFINITY),
            sample("v", &[("k", "ninf")], f64::NEG_INFINITY),
        ],
    )]);
    let text = single_from(&snap, Format::OpenMetrics);
    assert!(text.contains("v{k=\"nan\"} NaN\nv{k=\"pinf\"} +Inf\nv{k=\"ninf\"} -Inf\n"));
}

#[test]
fn formats_diverge_mid_family_without_losing_lines() {
    let mut stamped = sample("g", &[("i", "2")], 2.0);
    stamped.timestamp_ms = Some(1_500);
    let mut later = sample("g", &[("i", "4")], 4.0);
    later.timestamp_ms = Some(-2_000);
    let snap = EncodedSnapshot::encode(vec![family(
        "g",
        MetricType::Gauge,
        "G.",
        vec![
            sample("g", &[("i", "1")], 1.0),
            stamped,
            sample("g", &[("i", "3")], 3.0),
            later,
        ],
    )]);
    assert_eq!(
        single_from(&snap, Format::Classic),
        "# HELP g G.\n# TYPE g gauge\ng{i=\"1\"} 1\ng{i=\"2\"} 2 1500\ng{i=\"3\"} 3\ng{i=\"4\"} 4 -2000\n"
    );
    assert_eq!(
        single_from(&snap, Format::OpenMetrics),
        "# HELP g G.\n# TYPE g gauge\ng{i=\"1\"} 1\ng{i=\"2\"} 2 1.5\ng{i=\"3\"} 3\ng{i=\"4\"} 4 -2\n# EOF\n"
    );
}

fn histogram_foo(created: bool) -> MetricFamily {
    let mut samples = vec![
        sample("foo_bucket", &[("le", "+Inf")], 1.0),
        sample("foo_sum", &[], 2.0),
        sample("foo_count", &[], 1.0),
    ];
    if created {
        samples.push(sample("foo_created", &[], 1_700_000_000.0));
    }
    family("foo", MetricType::Histogram, "Foo.", samples)
}

fn created_gauge(name: &str) -> MetricFamily {
    MetricFamily::gauge(name, "Created gauge.").with_value(1_600_000_000.0)
}

#[test]
fn created_gauge_kept_in_classic_beside_family_with_created_samples() {
    let snap = EncodedSnapshot::encode(vec![histogram_foo(true), created_gauge("foo_created")]);
    let (text, conflicts) = render(&[("s", &snap)], Format::Classic);
    assert!(conflicts.is_empty(), "{conflicts:?}");
    assert_eq!(
        text,
        "# HELP foo Foo.\n# TYPE foo histogram\nfoo_bucket{le=\"+Inf\"} 1\nfoo_sum 2\nfoo_count 1\n\
         # HELP foo_created Created gauge.\n# TYPE foo_created gauge\nfoo_created 1600000000\n"
    );
}

#[test]
fn created_gauge_conflicts_in_openmetrics_beside_family_with_created_samples() {
    let snap = EncodedSnapshot::encode(vec![histogram_foo(true), created_gauge("foo_created")]);
    let (text, conflicts) = render(&[("s", &snap)], Format::OpenMetrics);
    assert_eq!(
        conflicts,
        vec![TypeConflict {
            source: "s".into(),
            family: "foo_created".into(),
            kept: MetricType::Histogram,
            dropped: MetricType::Gauge,
        }]
    );
    assert!(text.contains("foo_created 1700000000\n"), "{text}");
    assert!(!text.contains("# TYPE foo_created"), "{text}");
    assert!(!text.contains("1600000000"), "{text}");
}

#[test]
fn created_gauge_kept_in_openmetrics_beside_family_without_created_samples() {
    let counter = MetricFamily::counter("bar", "Bar.").with_value(3.0);
    let snap = EncodedSnapshot::encode(vec![
        histogram_foo(false),
        created_gauge("foo_created"),
        counter,
        created_gauge("bar_created"),
    ]);
    for format in [Format::Classic, Format::OpenMetrics] {
        let (text, conflicts) = render(&[("s", &snap)], format);
        assert!(conflicts.is_empty(), "{format:?}: {conflicts:?}");
        assert!(text.contains("foo_count 1\n"), "{format:?}: {text}");
        assert!(text.contains("bar_total 3\n"), "{format:?}: {text}");
        for name in ["foo_created", "bar_created"] {
            assert!(
                text.contains(&format!("# TYPE {name} gauge\n{name} 1600000000\n")),
                "{format:?}: {text}"
            );
        }
    }
    assert_eq!(
        single_from(&snap, Format::OpenMetrics),
        "# HELP bar Bar.\n# TYPE bar counter\nbar_total 3\n\
         # HELP bar_created Created gauge.\n# TYPE bar_created gauge\nbar_created 1600000000\n\
         # HELP foo Foo.\n# TYPE foo histogram\nfoo_bucket{le=\"+Inf\"} 1\nfoo_sum 2\nfoo_count 1\n\
         # HELP foo_created Created gauge.\n# TYPE foo_created gauge\nfoo_created 1600000000\n# EOF\n"
    );
}

#[test]
fn created_claims_across_sources_first_source_owns() {
    let with = EncodedSnapshot::encode(vec![histogram_foo(true)]);
    let without = EncodedSnapshot::encode(vec![histogram_foo(false)]);
    let gauge = EncodedSnapshot::encode(vec![created_gauge("foo_created")]);
    let dropped = |source: &str, family: &str, kept, dropped| TypeConflict {
        source: source.into(),
        family: family.into(),
        kept,
        dropped,
    };
    let (h, g) = (MetricType::Histogram, MetricType::Gauge);
    type Case<'a> = (Vec<(&'a str, &'a EncodedSnapshot)>, Vec<TypeConflict>);
    let cases: Vec<Case> = vec![
        // The histogram with `_created` samples comes first: the gauge is dropped.
        (
            vec![("h", &with), ("g", &gauge)],
            vec![dropped("g", "foo_created", h, g)],
        ),
        // The gauge comes first: the histogram that would write `foo_created` is dropped.
        (
            vec![("g", &gauge), ("h", &with)],
            vec![dropped("h", "foo", g, h)],
        ),
        // Without `_created` samples, nothing clashes in either order.
        (vec![("h", &without), ("g", &gauge)], vec![]),
        (vec![("g", &gauge), ("h", &without)], vec![]),
        // A later source's `foo` joins the owner's header; its `_created` samples would
        // sit beside the gauge an earlier source already serves, so it is left out.
        (
            vec![("a", &without), ("g", &gauge), ("b", &with)],
            vec![dropped("b", "foo", g, h)],
        ),
        // Once a joining `foo` has claimed `foo_created`, a later gauge is left out.
        (
            vec![("a", &without), ("b", &with), ("g", &gauge)],
            vec![dropped("g", "foo_created", h, g)],
        ),
    ];
    for (parts, want) in cases {
        let sources: Vec<&str> = parts.iter().map(|(s, _)| *s).collect();
        let (classic, conflicts) = render(&parts, Format::Classic);
        assert!(conflicts.is_empty(), "{sources:?}: {conflicts:?}");
        assert!(
            classic.contains("# TYPE foo_created gauge\n"),
            "{sources:?}"
        );
        let (om, conflicts) = render(&parts, Format::OpenMetrics);
        assert_eq!(conflicts, want, "{sources:?}");
        assert_eq!(
            om.contains("# TYPE foo_created gauge\n"),
            !want.iter().any(|c| c.family == "foo_created"),
            "{sources:?}: {om}"
        );
        // `foo_created` is written by exactly one family.
        let writers = om.contains("# TYPE foo_created gauge\n") as usize
            + om.contains("foo_created 1700000000\n") as usize;
        assert_eq!(writers, 1, "{sources:?}: {om}");
    }
}
