//! Every metric name and label set that postgres_exporter (Debian's 0.11.1, default
//! collectors) emits, we emit too on the same server, except the differences listed
//! here and in docs/postgres.md, each for a reason.

mod common;

use common::series_labels;

use std::process::{Command, Stdio};
use std::time::Duration;

const PG_URL: &str = "postgresql://postgres@127.0.0.1:5432/postgres";

/// postgres_exporter's name → ours, where we differ on purpose.
const RENAMED: &[(&str, &str)] = &[
    // Its own scrape bookkeeping; ours is per source and not PostgreSQL-specific.
    (
        "pg_exporter_last_scrape_duration_seconds",
        "stack_exporter_source_poll_duration_seconds",
    ),
    ("pg_exporter_last_scrape_error", "stack_exporter_source_up"),
    (
        "pg_exporter_scrapes_total",
        "stack_exporter_source_polls_total",
    ),
    // A reset time is a timestamp, not a counter.
    (
        "pg_stat_bgwriter_stats_reset_total",
        "pg_stat_bgwriter_stats_reset_timestamp_seconds",
    ),
];

#[test]
fn we_emit_every_postgres_exporter_name_with_its_labels() {
    let port = common::free_port();
    let mut theirs = Command::new("prometheus-postgres-exporter")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .env("DATA_SOURCE_NAME", format!("{PG_URL}?sslmode=disable"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "prometheus-postgres-exporter not found: run `bash scripts/test.sh`, which installs it",
        );
    let url = format!("http://127.0.0.1:{port}/metrics");
    let mut body = String::new();
    common::wait_until(Duration::from_secs(15), "postgres_exporter answers", || {
        match common::try_http_get(&url, &[]) {
            Ok(r) if r.status == 200 && r.text().contains("pg_up 1") => {
                body = r.text();
                true
            }
            _ => false,
        }
    });
    let _ = theirs.kill();
    let _ = theirs.wait();

    // The built-in default config, as a user without a config file would run it.
    let exporter = common::ExporterProcess::builder()
        .env("DATABASE_URL", PG_URL)
        .env_remove("STACK_EXPORTER_CONFIG_FILE")
        .start();
    common::wait_until(Duration::from_secs(10), "/ready", || {
        exporter.get("/ready").status == 200
    });
    let ours = series_labels(&exporter.get("/metrics").text());
    let theirs = series_labels(&body);

    let mut problems = Vec::new();
    for (name, labels) in theirs.iter().filter(|(n, _)| n.starts_with("pg_")) {
        let ours_name = RENAMED
            .iter()
            .find(|(t, _)| t == name)
            .map(|(_, o)| *o)
            .unwrap_or(name.as_str());
        let Some(our_labels) = ours.get(ours_name) else {
            problems.push(format!("missing {name}"));
            continue;
        };
        // `server` (its host:port label) is our `source`.
        for label in labels.iter().filter(|l| *l != "server") {
            if !our_labels.contains(label) {
                problems.push(format!("{name}: label {label} missing"));
            }
        }
        if labels.contains("server") && !our_labels.contains("source") {
            problems.push(format!("{name}: no source label"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The comparison is not vacuous: it covered the default collectors.
    assert!(
        theirs.len() > 200,
        "postgres_exporter emitted only {} names",
        theirs.len()
    );
}
