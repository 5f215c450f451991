//! Table tests: small bodies per feature with the families expected, and error cases
//! with their exact line and column.

use super::*;
use crate::model::{MetricType, Sample};

use Format::{Classic, OpenMetrics};
use MetricType::*;

fn s(name: &str, labels: &[(&str, &str)], value: f64, ts: Option<i64>) -> Sample {
    Sample {
        name: name.to_owned(),
        labels: crate::model::labels(labels),
        value,
        timestamp_ms: ts,
    }
}

fn fam(name: &str, kind: MetricType, help: &str, samples: Vec<Sample>) -> MetricFamily {
    MetricFamily {
        name: name.to_owned(),
        help: help.to_owned(),
        unit: String::new(),
        kind,
        samples,
    }
}

fn ok(body: &str, format: Format) -> Vec<MetricFamily> {
    match parse(body.as_bytes(), format, &ParseLimits::default()) {
        Ok(f) => f,
        Err(e) => panic!("{format:?} body {body:?} failed: {e}"),
    }
}

fn err(body: &str, format: Format) -> ParseError {
    match parse(body.as_bytes(), format, &ParseLimits::default()) {
        Ok(f) => panic!("{format:?} body {body:?} parsed: {f:?}"),
        Err(e) => e,
    }
}

fn check(cases: &[(&str, Format, Vec<MetricFamily>)]) {
    for (body, format, want) in cases {
        assert_eq!(&ok(body, *format), want, "{format:?} body {body:?}");
    }
}

#[test]
fn classic_basics() {
    check(&[
        ("", Classic, vec![]),
        ("\n\n   \n", Classic, vec![]),
        ("# just a comment\n#nospace\n", Classic, vec![]),
        (
            "up 1\n",
            Classic,
            vec![fam("up", Unknown, "", vec![s("up", &[], 1.0, None)])],
        ),
        (
            "up 1",
            Classic,
            vec![fam("up", Unknown, "", vec![s("up", &[], 1.0, None)])],
        ),
        (
            "# HELP up Is it up.\n# TYPE up gauge\nup{job=\"a\"} 1\nup{job=\"b\"} 0\n",
            Classic,
            vec![fam(
                "up",
                Gauge,
                "Is it up.",
                vec![
                    s("up", &[("job", "a")], 1.0, None),
                    s("up", &[("job", "b")], 0.0, None),
                ],
            )],
        ),
        (
            "# TYPE up gauge\n# HELP up Later help.\nup 1\n",
            Classic,
            vec![fam(
                "up",
                Gauge,
                "Later help.",
                vec![s("up", &[], 1.0, None)],
            )],
        ),
        (
            // Prometheus's lexer allows spaces and tabs between every token and a
            // trailing comma; the value may follow `}` directly.
            "  m \t{ a = \"1\" ,\tb=\"2\", }   3  \nm{}4\n",
            Classic,
            vec![fam(
                "m",
                Unknown,
                "",
                vec![
                    s("m", &[("a", "1"), ("b", "2")], 3.0, None),
                    s("m", &[], 4.0, None),
                ],
            )],
        ),
        (
            "m 1 1700000000123\nm{a=\"x\"} 2 -5 \n",
            Classic,
            vec![fam(
                "m",
                Unknown,
                "",
                vec![
                    s("m", &[], 1.0, Some(1_700_000_000_123)),
                    s("m", &[("a", "x")], 2.0, Some(-5)),
                ],
            )],
        ),
        (
            "ns:rate5m 2.5e-3\n_x 1E3\n",
            Classic,
            vec![
                fam(
                    "ns:rate5m",
                    Unknown,
                    "",
                    vec![s("ns:rate5m", &[], 0.0025, None)],
                ),
                fam("_x", Unknown, "", vec![s("_x", &[], 1000.0, None)]),
            ],
        ),
        (
            "# TYPE g untyped\ng +Inf\ng{a=\"1\"} -Inf\ng{a=\"2\"} Inf\n",
            Classic,
            vec![fam(
                "g",
                Unknown,
                "",
                vec![
                    s("g", &[], f64::INFINITY, None),
                    s("g", &[("a", "1")], f64::NEG_INFINITY, None),
                    s("g", &[("a", "2")], f64::INFINITY, None),
                ],
            )],
        ),
        (
            // HELP / TYPE with only metadata: the family is still returned.
            "# HELP lonely Nothing here.\n# TYPE lonely gauge\n",
            Classic,
            vec![fam("lonely", Gauge, "Nothing here.", vec![])],
        ),
        (
            // `# HELPFUL`, and HELP without whitespace after it, are plain comments.
            "# HELPFUL hint\n# HELP\n# TYPE\nx 1\n",
            Classic,
            vec![fam("x", Unknown, "", vec![s("x", &[], 1.0, None)])],
        ),
        (
            "# EOF\nx 1\n",
            Classic,
            vec![fam("x", Unknown, "", vec![s("x", &[], 1.0, None)])],
        ),
    ]);
}

#[test]
fn classic_nan_value() {
    let f = ok("x NaN\ny nan\n", Classic);
    assert!(f.iter().all(|f| f.samples.iter().all(|s| s.value.is_nan())));
    assert_eq!(f.len(), 2);
}

#[test]
fn classic_types() {
    check(&[
        (
            "# HELP c_total Requests.\n# TYPE c_total counter\nc_total{code=\"200\"} 7\n",
            Classic,
            vec![fam("c", Counter, "Requests.", vec![s("c_total", &[("code", "200")], 7.0, None)])],
        ),
        (
            // A counter without `_total` keeps its bare name (push_bare style).
            "# TYPE xact_commit counter\nxact_commit 3\n",
            Classic,
            vec![fam("xact_commit", Counter, "", vec![s("xact_commit", &[], 3.0, None)])],
        ),
        (
            "# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.3\nh_count 2\n",
            Classic,
            vec![fam(
                "h",
                Histogram,
                "",
                vec![
                    s("h_bucket", &[("le", "0.1")], 1.0, None),
                    s("h_bucket", &[("le", "+Inf")], 2.0, None),
                    s("h_sum", &[], 0.3, None),
                    s("h_count", &[], 2.0, None),
                ],
            )],
        ),
        (
            "# TYPE q summary\nq{quantile=\"0.5\"} 1\nq{quantile=\"0.99\"} NaN\nq_sum 3\nq_count 4\n",
            Classic,
            vec![fam(
                "q",
                Summary,
                "",
                vec![
                    s("q", &[("quantile", "0.5")], 1.0, None),
                    s("q", &[("quantile", "0.99")], f64::NAN, None),
                    s("q_sum", &[], 3.0, None),
                    s("q_count", &[], 4.0, None),
                ],
            )],
        )
        .clone(),
    ]
    .into_iter()
    .filter(|(_, _, w)| !w[0].samples.iter().any(|s| s.value.is_nan()))
    .collect::<Vec<_>>());
    // The NaN case, compared without NaN != NaN getting in the way.
    let f = ok(
        "# TYPE q summary\nq{quantile=\"0.99\"} NaN\nq_sum 3\nq_count 4\nq_created 9\n",
        Classic,
    );
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(f[0].kind, Summary);
    assert_eq!(f[0].samples.len(), 3);
    // `_created` has no place in classic text: its own untyped family.
    assert_eq!(
        f[1],
        fam(
            "q_created",
            Unknown,
            "",
            vec![s("q_created", &[], 9.0, None)]
        )
    );
}

#[test]
fn classic_total_counter_beside_created_gauge_stays_a_counter() {
    // The Python client's classic pair: a bare counter here would reach Prometheus as
    // `unknown` over OpenMetrics, where the app itself says `counter`.
    check(&[(
        "# TYPE c_total counter\nc_total 7\n# TYPE c_created gauge\nc_created 1.7e+09\n",
        Classic,
        vec![
            fam("c", Counter, "", vec![s("c_total", &[], 7.0, None)]),
            fam(
                "c_created",
                Gauge,
                "",
                vec![s("c_created", &[], 1.7e9, None)],
            ),
        ],
    )]);
    // A family named `c` itself still leaves the counter bare under its TYPE name.
    check(&[(
        "# TYPE c gauge\nc 1\n# TYPE c_total counter\nc_total 7\n",
        Classic,
        vec![
            fam("c", Gauge, "", vec![s("c", &[], 1.0, None)]),
            fam("c_total", Counter, "", vec![s("c_total", &[], 7.0, None)]),
        ],
    )]);
    let families = ok(
        "# TYPE c_total counter\nc_total 7\n# TYPE c_created gauge\nc_created 1.7e+09\n",
        Classic,
    );
    let snapshot = crate::exposition::EncodedSnapshot::encode(families);
    let mut out = Vec::new();
    let conflicts = crate::exposition::assemble(&[("s", &snapshot)], OpenMetrics, &mut out);
    assert!(conflicts.is_empty(), "{conflicts:?}");
    assert_eq!(
        String::from_utf8_lossy(&out),
        "# TYPE c counter\nc_total 7\n# TYPE c_created gauge\nc_created 1700000000\n# EOF\n"
    );
}

#[test]
fn classic_grouping_and_interleaving() {
    check(&[
        (
            // Samples that do not fit the current TYPE make their own untyped family.
            "# TYPE a gauge\na 1\nb 2\na_sum 3\n",
            Classic,
            vec![
                fam("a", Gauge, "", vec![s("a", &[], 1.0, None)]),
                fam("b", Unknown, "", vec![s("b", &[], 2.0, None)]),
                fam("a_sum", Unknown, "", vec![s("a_sum", &[], 3.0, None)]),
            ],
        ),
        (
            // Interleaved: merged into the first appearance.
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\n# TYPE g gauge\ng 5\nh_sum 2\n# TYPE h histogram\nh_count 1\n",
            Classic,
            vec![
                fam(
                    "h",
                    Histogram,
                    "",
                    vec![
                        s("h_bucket", &[("le", "1")], 1.0, None),
                        s("h_sum", &[], 2.0, None),
                        s("h_count", &[], 1.0, None),
                    ],
                ),
                fam("g", Gauge, "", vec![s("g", &[], 5.0, None)]),
            ],
        ),
        (
            // A TYPE after its samples types them when they fit.
            "x_total 1\n# TYPE x_total counter\nx_total{a=\"b\"} 2\n",
            Classic,
            vec![fam(
                "x",
                Counter,
                "",
                vec![s("x_total", &[], 1.0, None), s("x_total", &[("a", "b")], 2.0, None)],
            )],
        ),
        (
            // Repeated HELP: first kept.
            "# HELP x one\n# HELP x two\nx 1\n",
            Classic,
            vec![fam("x", Unknown, "one", vec![s("x", &[], 1.0, None)])],
        ),
    ]);
}

#[test]
fn classic_escapes() {
    check(&[
        (
            r#"m{a="q\"b\\s\nn"} 1"#,
            Classic,
            vec![fam(
                "m",
                Unknown,
                "",
                vec![s("m", &[("a", "q\"b\\s\nn")], 1.0, None)],
            )],
        ),
        (
            // Unknown escapes stay literally, as in Prometheus.
            r#"m{a="\t\x\é"} 1"#,
            Classic,
            vec![fam(
                "m",
                Unknown,
                "",
                vec![s("m", &[("a", "\\t\\x\\é")], 1.0, None)],
            )],
        ),
        (
            // Classic HELP keeps `\"` as written and undoes `\\` and `\n`.
            "# HELP m a \\\"q\\\" \\\\ \\n \"raw\"\nm 1\n",
            Classic,
            vec![fam(
                "m",
                Unknown,
                "a \\\"q\\\" \\ \n \"raw\"",
                vec![s("m", &[], 1.0, None)],
            )],
        ),
        (
            // Leading whitespace of the text survives: one separator is dropped.
            "# HELP m   spaced \nm 1\n",
            Classic,
            vec![fam("m", Unknown, "  spaced ", vec![s("m", &[], 1.0, None)])],
        ),
        (
            "# HELP m\nm 1\n",
            Classic,
            vec![fam("m", Unknown, "", vec![s("m", &[], 1.0, None)])],
        ),
        (
            // A raw newline inside a quoted value, as Prometheus's lexer accepts.
            "m{a=\"x\ny\"} 1\nn 2\n",
            Classic,
            vec![
                fam("m", Unknown, "", vec![s("m", &[("a", "x\ny")], 1.0, None)]),
                fam("n", Unknown, "", vec![s("n", &[], 2.0, None)]),
            ],
        ),
        (
            "m{a=\"ü✓😀\",b=\"}{,=#\",c=\"\"} 1\n",
            Classic,
            vec![fam(
                "m",
                Unknown,
                "",
                vec![s(
                    "m",
                    &[("a", "ü✓😀"), ("b", "}{,=#"), ("c", "")],
                    1.0,
                    None,
                )],
            )],
        ),
    ]);
}

#[test]
fn classic_errors() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("x\n", 1, 2, "expected a value"),
        ("9x 1\n", 1, 1, "expected a metric name"),
        ("ok 1\nx{a=\"1\" 1\n", 2, 9, "expected ',' or '}'"),
        ("x{a=1} 1\n", 1, 5, "expected a quoted value"),
        ("x{a\"1\"} 1\n", 1, 4, "expected '='"),
        ("x{1=\"1\"} 1\n", 1, 3, "expected a label name"),
        ("x{a=\"1} 1\n", 1, 5, "unterminated label value"),
        ("x{a=\"1\\\n\"} 1\n", 1, 5, "unterminated label value"),
        ("x 1 2 3\n", 1, 7, "unexpected text"),
        ("x one\n", 1, 3, "invalid value \"one\""),
        ("x 1e999\n", 1, 3, "out of range"),
        ("x 0x10\n", 1, 3, "invalid value"),
        ("x 1 1.5\n", 1, 5, "invalid timestamp"),
        ("x 1 # {a=\"b\"} 1\n", 1, 5, "invalid timestamp"),
        ("\n\n# TYPE x info\n", 3, 10, "invalid metric type \"info\""),
        ("# TYPE x  gauge\n", 1, 10, "invalid metric type \" gauge\""),
        ("# TYPE x\n", 1, 9, "expected a type"),
        (
            "# TYPE 1x gauge\n",
            1,
            8,
            "expected a metric name after TYPE",
        ),
        (
            "# TYPE x gauge\n# TYPE x counter\n",
            2,
            8,
            "conflicts with its earlier TYPE",
        ),
        (
            "x_bucket 1\n# TYPE x_bucket histogram\n",
            2,
            8,
            "does not fit that type",
        ),
        (
            "# TYPE c counter\nc_total 1\nc 1\nx{a=\"1\",a=\"2\"} 1\n",
            4,
            1,
            "label name \"a\" is repeated",
        ),
        ("x{__name__=\"y\"} 1\n", 1, 1, "reserved"),
        ("x{a=\"1\"\n", 1, 8, "expected ',' or '}'"),
        ("x{\n", 1, 3, "unterminated label set"),
        ("x 1\r\n", 1, 3, "invalid value \"1\\r\""),
    ];
    for &(body, line, column, text) in cases {
        let e = err(body, Classic);
        assert_eq!(
            (e.line, e.column, e.kind),
            (line, column, ParseErrorKind::Invalid),
            "{body:?}: {e}"
        );
        assert!(e.message.contains(text), "{body:?}: {e} lacks {text:?}");
    }
}

#[test]
fn openmetrics_basics() {
    check(&[
        ("", OpenMetrics, vec![]),
        ("# EOF\n", OpenMetrics, vec![]),
        ("# EOF", OpenMetrics, vec![]),
        (
            "# HELP g A gauge.\n# TYPE g gauge\n# UNIT g \ng{a=\"1\"} 1.5\ng 2\n# EOF\n",
            OpenMetrics,
            vec![fam(
                "g",
                Gauge,
                "A gauge.",
                vec![s("g", &[("a", "1")], 1.5, None), s("g", &[], 2.0, None)],
            )],
        ),
        (
            "x 1\n# EOF\n",
            OpenMetrics,
            vec![fam("x", Unknown, "", vec![s("x", &[], 1.0, None)])],
        ),
        (
            "# TYPE u unknown\nu{} 1 1700000000.5\nu{a=\"b\",} 2 1.7e9\n# EOF\n",
            OpenMetrics,
            vec![fam(
                "u",
                Unknown,
                "",
                vec![
                    s("u", &[], 1.0, Some(1_700_000_000_500)),
                    s("u", &[("a", "b")], 2.0, Some(1_700_000_000_000)),
                ],
            )],
        ),
        (
            // OpenMetrics HELP undoes `\"` too.
            "# HELP g q\\\"u\\\\o\\nte \\t\n# TYPE g gauge\ng -Inf\n# EOF\n",
            OpenMetrics,
            vec![fam(
                "g",
                Gauge,
                "q\"u\\o\nte \\t",
                vec![s("g", &[], f64::NEG_INFINITY, None)],
            )],
        ),
        (
            "# HELP g \n# TYPE g gauge\ng{a=\"\\\"\\\\\\n\\x\"} 0\n# EOF\n",
            OpenMetrics,
            vec![fam(
                "g",
                Gauge,
                "",
                vec![s("g", &[("a", "\"\\\n\\x")], 0.0, None)],
            )],
        ),
        (
            "# TYPE d_seconds gauge\n# UNIT d_seconds seconds\nd_seconds 1\n# EOF\n",
            OpenMetrics,
            vec![{
                let mut f = fam("d_seconds", Gauge, "", vec![s("d_seconds", &[], 1.0, None)]);
                f.unit = "seconds".to_owned();
                f
            }],
        ),
    ]);
}

#[test]
fn openmetrics_types() {
    check(&[
        (
            "# TYPE c counter\nc_total 1\nc_created 1700000000.25\n# EOF\n",
            OpenMetrics,
            vec![fam(
                "c",
                Counter,
                "",
                vec![s("c_total", &[], 1.0, None), s("c_created", &[], 1_700_000_000.25, None)],
            )],
        ),
        (
            "# TYPE h histogram\nh_bucket{le=\"1.0\"} 0\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 2\nh_created 3\n# EOF\n",
            OpenMetrics,
            vec![fam(
                "h",
                Histogram,
                "",
                vec![
                    s("h_bucket", &[("le", "1.0")], 0.0, None),
                    s("h_bucket", &[("le", "+Inf")], 1.0, None),
                    s("h_count", &[], 1.0, None),
                    s("h_sum", &[], 2.0, None),
                    s("h_created", &[], 3.0, None),
                ],
            )],
        ),
        (
            "# TYPE gh gaugehistogram\ngh_bucket{le=\"+Inf\"} 3\ngh_gcount 3\ngh_gsum 7\n# EOF\n",
            OpenMetrics,
            vec![fam(
                "gh",
                GaugeHistogram,
                "",
                vec![
                    s("gh_bucket", &[("le", "+Inf")], 3.0, None),
                    s("gh_gcount", &[], 3.0, None),
                    s("gh_gsum", &[], 7.0, None),
                ],
            )],
        ),
        (
            "# TYPE q summary\nq{quantile=\"0.5\"} 1\nq_sum 2\nq_count 3\nq_created 4\n# EOF\n",
            OpenMetrics,
            vec![fam(
                "q",
                Summary,
                "",
                vec![
                    s("q", &[("quantile", "0.5")], 1.0, None),
                    s("q_sum", &[], 2.0, None),
                    s("q_count", &[], 3.0, None),
                    s("q_created", &[], 4.0, None),
                ],
            )],
        ),
        (
            "# TYPE build info\nbuild_info{version=\"1.2\"} 1\n# EOF\n",
            OpenMetrics,
            vec![fam("build", Info, "", vec![s("build_info", &[("version", "1.2")], 1.0, None)])],
        ),
        (
            "# TYPE st stateset\nst{st=\"a\"} 1\nst{st=\"b\"} 0\n# EOF\n",
            OpenMetrics,
            vec![fam(
                "st",
                StateSet,
                "",
                vec![s("st", &[("st", "a")], 1.0, None), s("st", &[("st", "b")], 0.0, None)],
            )],
        ),
        (
            // Samples no TYPE covers: unknown families of their own names.
            "# TYPE a gauge\na 1\nb_total 2\nb_total{x=\"y\"} 3\n# EOF\n",
            OpenMetrics,
            vec![
                fam("a", Gauge, "", vec![s("a", &[], 1.0, None)]),
                fam(
                    "b_total",
                    Unknown,
                    "",
                    vec![s("b_total", &[], 2.0, None), s("b_total", &[("x", "y")], 3.0, None)],
                ),
            ],
        ),
    ]);
}

#[test]
fn openmetrics_exemplars() {
    let body = "# TYPE c counter\nc_total 1 # {trace_id=\"abc\"} 0.5 1700000000.001\n\
                # TYPE h histogram\nh_bucket{le=\"+Inf\"} 1 1700000000 # {} 2\nh_count 1 # {a=\"b\"} 1\n\
                # TYPE g gauge\ng 1 # {a=\"b\"} 1\n# EOF\n";
    let p =
        parse_detailed(body.as_bytes(), OpenMetrics, &ParseLimits::default()).unwrap_or_default();
    assert_eq!(p.families.len(), 3);
    assert_eq!(
        p.exemplars,
        vec![
            Exemplar {
                family: 0,
                sample: 0,
                labels: crate::model::labels(&[("trace_id", "abc")]),
                value: 0.5,
                timestamp_ms: Some(1_700_000_000_001),
            },
            Exemplar {
                family: 1,
                sample: 0,
                labels: vec![],
                value: 2.0,
                timestamp_ms: None
            },
        ]
    );
    // On `_count` and on a gauge OpenMetrics allows none: dropped and counted.
    assert_eq!(p.exemplars_dropped, 2);
    let long = "x".repeat(127);
    let body = format!("# TYPE c counter\nc_total 1 # {{ab=\"{long}\"}} 1\n# EOF\n");
    let p =
        parse_detailed(body.as_bytes(), OpenMetrics, &ParseLimits::default()).unwrap_or_default();
    assert_eq!((p.exemplars.len(), p.exemplars_dropped), (0, 1));
}

#[test]
fn openmetrics_errors() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("x 1\n", 2, 1, "missing # EOF"),
        ("x 1", 1, 4, "missing # EOF"),
        ("x 1\n# EOF\nx 2\n", 3, 1, "content after # EOF"),
        ("# EOF\n\n", 2, 1, "content after # EOF"),
        ("x 1\n\n# EOF\n", 2, 1, "empty line"),
        ("# random comment\n# EOF\n", 1, 1, "invalid comment"),
        ("x  1\n# EOF\n", 1, 3, "expected a value"),
        ("x\t1\n# EOF\n", 1, 2, "expected a space"),
        (
            "x{a=\"1\", b=\"2\"} 1\n# EOF\n",
            1,
            9,
            "expected a label name",
        ),
        ("x 1 \n# EOF\n", 1, 5, "expected a timestamp"),
        ("x 1 NaN\n# EOF\n", 1, 5, "invalid timestamp"),
        ("x 1 1 2\n# EOF\n", 1, 7, "expected an exemplar"),
        ("x 1 #{a=\"b\"} 1\n# EOF\n", 1, 5, "expected an exemplar"),
        (
            "# TYPE c counter\nc_total 1 # {a=\"b\"}\n# EOF\n",
            2,
            20,
            "expected a space and a value",
        ),
        (
            "# TYPE x gauge\n# TYPE x gauge\n# EOF\n",
            2,
            8,
            "second TYPE",
        ),
        ("# HELP x a\n# HELP x b\n# EOF\n", 2, 8, "second HELP"),
        (
            "# TYPE x gauge\nx 1\n# HELP x late\n# EOF\n",
            3,
            8,
            "after its samples",
        ),
        (
            "# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\n# TYPE x gauge\n# EOF\n",
            5,
            8,
            "appears again",
        ),
        (
            "# TYPE h histogram\nh_sum 1\n# TYPE y gauge\ny 1\nh_count 1\n# EOF\n",
            5,
            1,
            "ended earlier",
        ),
        (
            "# TYPE c counter\nc 1\n# EOF\n",
            2,
            1,
            "does not fit the counter family",
        ),
        (
            "# TYPE x untyped\n# EOF\n",
            1,
            10,
            "invalid metric type \"untyped\"",
        ),
        (
            "# TYPE x_bytes gauge\n# UNIT x_bytes seconds\n# EOF\n",
            2,
            8,
            "not a suffix",
        ),
        (
            "# TYPE bytes gauge\n# UNIT bytes bytes\n# EOF\n",
            2,
            8,
            "not a suffix",
        ),
        ("# HELP x\n# EOF\n", 1, 9, "expected a space and text"),
        ("x{a=\"1\ny\"} 1\n# EOF\n", 1, 5, "unterminated label value"),
        ("{\"x\"} 1\n# EOF\n", 1, 1, "expected a metric name"),
        (
            "x 1 1700000000 ct@1\n# EOF\n",
            1,
            16,
            "expected an exemplar",
        ),
        ("x 1\r\n# EOF\n", 1, 3, "invalid value"),
    ];
    for &(body, line, column, text) in cases {
        let e = err(body, OpenMetrics);
        assert_eq!(
            (e.line, e.column, e.kind),
            (line, column, ParseErrorKind::Invalid),
            "{body:?}: {e}"
        );
        assert!(e.message.contains(text), "{body:?}: {e} lacks {text:?}");
    }
}

#[test]
fn duplicates_are_dropped_and_counted() {
    for (body, format) in [
        ("x{a=\"1\",b=\"2\"} 1\nx{b=\"2\",a=\"1\"} 2\nx{a=\"1\"} 3\nx{a=\"1\",b=\"2\"} 4 5\n", Classic),
        ("x{a=\"1\",b=\"2\"} 1\nx{b=\"2\",a=\"1\"} 2\nx{a=\"1\"} 3\nx{a=\"1\",b=\"2\"} 4 0.005\n# EOF\n", OpenMetrics),
    ] {
        let p = parse_detailed(body.as_bytes(), format, &ParseLimits::default()).unwrap_or_default();
        assert_eq!(p.duplicates, 1, "{format:?}");
        let values: Vec<f64> = p.families.iter().flat_map(|f| f.samples.iter().map(|s| s.value)).collect();
        // First wins; a different timestamp is a different sample.
        assert_eq!(values, [1.0, 3.0, 4.0], "{format:?}");
    }
}

#[test]
fn invalid_utf8_names_the_line() {
    let mut body = b"a 1\nb{x=\"".to_vec();
    body.extend_from_slice(&[0xff, 0xfe]);
    body.extend_from_slice(b"\"} 1\n");
    for format in [Classic, OpenMetrics] {
        let e = parse(&body, format, &ParseLimits::default()).err();
        let e = e.unwrap_or_else(|| panic!("{format:?} accepted invalid UTF-8"));
        assert_eq!((e.line, e.column, e.kind), (2, 6, ParseErrorKind::Invalid));
        assert!(e.message.contains("UTF-8"), "{e}");
    }
}

#[test]
fn limits_are_a_distinct_kind() {
    let limits = ParseLimits {
        max_series: 2,
        max_line_length: 30,
        max_label_count: 2,
        max_label_value_length: 5,
    };
    let cases: &[(&str, usize, usize, &str)] = &[
        ("a 1\nb 1\nc 1\n", 3, 1, "limit of 2 series"),
        ("a 1\na 1\nb 1\n", 0, 0, ""), // a duplicate does not count
        (
            "a 1\nlooooooooooooooooooooooooooooooong 1\n",
            2,
            31,
            "limit of 30 bytes",
        ),
        ("a{x=\"1\",y=\"2\",z=\"3\"} 1\n", 1, 1, "3 labels"),
        ("a{x=\"123456\"} 1\n", 1, 5, "limit of 5 bytes"),
        // The limit applies to the unescaped value: `\\\\` is two bytes.
        ("a{x=\"\\\\\\\\\\\\\"} 1\n", 0, 0, ""),
        ("a{x=\"12\n3456\"} 1\n", 1, 5, "limit of 5 bytes"),
    ];
    for &(body, line, column, text) in cases {
        let want_kind = if text.contains("series") {
            ParseErrorKind::SampleLimit
        } else {
            ParseErrorKind::Limit
        };
        let got = parse(body.as_bytes(), Classic, &limits);
        if text.is_empty() {
            assert!(got.is_ok(), "{body:?}: {got:?}");
            continue;
        }
        let e = got
            .err()
            .unwrap_or_else(|| panic!("{body:?} within limits"));
        assert_eq!(
            (e.line, e.column, e.kind),
            (line, column, want_kind),
            "{body:?}: {e}"
        );
        assert!(e.message.contains(text), "{body:?}: {e}");
        let om = format!("{body}# EOF\n");
        let e = parse(om.as_bytes(), OpenMetrics, &limits).err();
        if !body.contains("\n3456") {
            assert_eq!(e.map(|e| e.kind), Some(want_kind), "OM {body:?}");
        }
    }
}

#[test]
fn content_type_picks_the_format() {
    for (ct, want) in [
        (
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            OpenMetrics,
        ),
        ("application/openmetrics-text", OpenMetrics),
        ("Application/OpenMetrics-Text ;version=0.0.1", OpenMetrics),
        ("text/plain; version=0.0.4; charset=utf-8", Classic),
        ("text/plain", Classic),
        ("", Classic),
        ("application/json", Classic),
        ("garbage;;;", Classic),
    ] {
        assert_eq!(format_from_content_type(ct), want, "{ct}");
    }
}
