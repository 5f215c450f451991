//! The classic output must pass Prometheus's own linter: `promtool check metrics`
//! parses with the real 0.0.4 parser and flags naming problems, so any finding on this
//! deliberately well-named fixture is a bug in the encoder.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use stack_exporter::exposition::{assemble, EncodedSnapshot, Format};
use stack_exporter::model::{apply_source_labels, labels, MetricFamily, MetricType, Sample};

fn sample(name: &str, pairs: &[(&str, &str)], value: f64) -> Sample {
    Sample {
        name: name.to_owned(),
        labels: labels(pairs),
        value,
        timestamp_ms: None,
    }
}

fn histogram(name: &str, help: &str, pairs: &[(&str, &str)]) -> MetricFamily {
    let mut f = MetricFamily::new(name, MetricType::Histogram, help);
    f.unit = "seconds".to_owned();
    let mut cumulative = 0.0;
    for (i, le) in ["0.005", "0.01", "0.1", "1", "+Inf"].iter().enumerate() {
        cumulative += (i * 3) as f64;
        let mut l = pairs.to_vec();
        l.push(("le", le));
        f.samples
            .push(sample(&format!("{name}_bucket"), &l, cumulative));
    }
    f.samples.push(sample(&format!("{name}_sum"), pairs, 12.75));
    f.samples
        .push(sample(&format!("{name}_count"), pairs, cumulative));
    f.samples
        .push(sample(&format!("{name}_created"), pairs, 1.7e9));
    f
}

fn summary(name: &str, help: &str) -> MetricFamily {
    let mut f = MetricFamily::new(name, MetricType::Summary, help);
    for (q, v) in [("0.5", 0.002), ("0.9", 0.0125), ("0.99", f64::NAN)] {
        f.samples.push(sample(name, &[("quantile", q)], v));
    }
    f.samples.push(sample(&format!("{name}_sum"), &[], 1234.5));
    f.samples
        .push(sample(&format!("{name}_count"), &[], 98765.0));
    f
}

fn postgres() -> Vec<MetricFamily> {
    let mut up = MetricFamily::gauge("stack_up", "Whether the last poll of the source succeeded.");
    up.push(Vec::new(), 1.0);
    let mut commits = MetricFamily::counter(
        "pg_xact_commit",
        "Transactions committed, per database.\nFrom pg_stat_database.",
    );
    commits.push(labels(&[("datname", "app")]), 123_456_789.0);
    commits.push(labels(&[("datname", "we\"ird\\name\nx")]), 0.0);
    let mut size = MetricFamily::gauge("pg_database_size_bytes", "Database size on disk.");
    size.unit = "bytes".to_owned();
    size.push(labels(&[("datname", "app")]), 8.5e12);
    size.push(labels(&[("datname", "ünïcødé ✓")]), 1e16);
    let mut lag = MetricFamily::gauge("pg_replication_lag_seconds", "Replica lag.");
    lag.samples.push(Sample {
        timestamp_ms: Some(1_700_000_000_123),
        ..sample("pg_replication_lag_seconds", &[("replica", "r1")], 0.25)
    });
    lag.push(labels(&[("replica", "r2")]), f64::INFINITY);
    vec![
        up,
        commits,
        size,
        lag,
        histogram(
            "pg_query_duration_seconds",
            "Query latency.",
            &[("query", "select_1")],
        ),
    ]
}

fn redis() -> Vec<MetricFamily> {
    let mut up = MetricFamily::gauge("stack_up", "Help text from the second source.");
    up.push(Vec::new(), 0.0);
    let mut cmds = MetricFamily::counter("redis_commands_processed", "Commands processed.");
    cmds.push(Vec::new(), 42.0);
    let mut mem = MetricFamily::gauge("redis_memory_used_bytes", "Memory in use.");
    mem.push(Vec::new(), 1_048_576.0);
    let mut info = MetricFamily::new("redis_build", MetricType::Info, "Redis build.");
    info.push(labels(&[("version", "7.2.4")]), 1.0);
    vec![
        up,
        cmds,
        mem,
        info,
        summary("redis_latency_seconds", "Latency summary."),
    ]
}

fn app(shard: &str) -> Vec<MetricFamily> {
    let mut up = MetricFamily::gauge("stack_up", "Ignored, earlier source wins.");
    up.push(labels(&[("shard", shard)]), 1.0);
    let mut reqs = MetricFamily::counter("http_requests", "HTTP requests served.");
    for code in ["200", "404", "500"] {
        reqs.push(labels(&[("code", code), ("method", "GET")]), 7.0);
    }
    vec![
        up,
        reqs,
        histogram(
            "http_request_duration_seconds",
            "Request latency.",
            &[("route", "/api/{id}")],
        ),
    ]
}

fn exposition(format: Format) -> Vec<u8> {
    let mut sources = vec![
        ("postgres", postgres()),
        ("redis", redis()),
        ("app_a", app("a")),
        ("app_b", app("b")),
    ];
    for (name, families) in &mut sources {
        let mut extra = BTreeMap::new();
        extra.insert("env".to_owned(), "prod".to_owned());
        apply_source_labels(families, name, &extra);
    }
    let snapshots: Vec<(&str, EncodedSnapshot)> = sources
        .into_iter()
        .map(|(name, families)| (name, EncodedSnapshot::encode(families)))
        .collect();
    for (name, snap) in &snapshots {
        assert_eq!(snap.invalid_dropped(), 0, "{name}");
        assert_eq!(snap.duplicates_dropped(), 0, "{name}");
    }
    let parts: Vec<(&str, &EncodedSnapshot)> = snapshots.iter().map(|(n, s)| (*n, s)).collect();
    let mut out = Vec::new();
    let conflicts = assemble(&parts, format, &mut out);
    assert!(conflicts.is_empty(), "{conflicts:?}");
    out
}

#[test]
fn promtool_accepts_classic_output() {
    let body = exposition(Format::Classic);
    let text = String::from_utf8_lossy(&body);
    // The fixture really exercises merging: one header for the family all four share.
    assert_eq!(text.matches("# TYPE stack_up gauge").count(), 1, "{text}");
    assert_eq!(text.matches("stack_up{").count(), 4, "{text}");

    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot run promtool ({e}); it is required for this test: run the project's \
             test script, which installs it (Debian: `apt-get install -y prometheus`)"
        ),
    };
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(&body)
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool finishes");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.is_empty() && stderr.is_empty(),
        "promtool check metrics: {}\nstdout: {stdout}\nstderr: {stderr}\ninput:\n{text}",
        output.status
    );
}

/// Guards the test above against a promtool that accepts anything: a counter without
/// `_total` and a missing HELP must be reported.
#[test]
fn promtool_flags_a_bad_exposition() {
    let bad = b"# TYPE requests counter\nrequests 1\n";
    let output = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().expect("stdin is piped").write_all(bad)?;
            child.wait_with_output()
        })
        .unwrap_or_else(|e| {
            panic!(
                "cannot run promtool ({e}); it is required for this test: run the project's \
                 test script, which installs it (Debian: `apt-get install -y prometheus`)"
            )
        });
    let findings = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{findings}");
    assert!(findings.contains("_total"), "{findings}");
}

/// Prints the fixture in both formats for eyeballing or feeding other parsers:
/// `cargo test --test exposition_promtool -- --nocapture show`.
#[test]
fn show_fixture() {
    for format in [Format::Classic, Format::OpenMetrics] {
        println!("{}", String::from_utf8_lossy(&exposition(format)));
    }
}
