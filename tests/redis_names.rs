//! Every metric name and label set that redis_exporter (Debian's 1.45.0) emits, we emit
//! too on the same server, except the differences listed here and in docs/redis.md,
//! each for a reason.

mod common;

use common::series_labels;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::TempRedis;

/// redis_exporter's name → ours, where we differ on purpose; labels are compared.
const RENAMED: &[(&str, &str)] = &[
    // The number of sockets cached now goes up and down: a gauge, which must not end in
    // `_total` (rate() over it would be meaningless).
    (
        "redis_migrate_cached_sockets_total",
        "redis_migrate_cached_sockets",
    ),
];

/// Its own scrape bookkeeping → ours, which is per source and for every kind of
/// backend; only the name is compared (ours carries `source`/`kind`, not `err`).
const SELF_METRICS: &[(&str, &str)] = &[
    ("redis_exporter_build_info", "stack_exporter_build_info"),
    (
        "redis_exporter_last_scrape_connect_time_seconds",
        "stack_exporter_source_poll_duration_seconds",
    ),
    (
        "redis_exporter_last_scrape_duration_seconds",
        "stack_exporter_source_poll_duration_seconds",
    ),
    (
        "redis_exporter_scrape_duration_seconds_sum",
        "stack_exporter_source_poll_duration_seconds",
    ),
    (
        "redis_exporter_scrape_duration_seconds_count",
        "stack_exporter_source_polls_total",
    ),
    (
        "redis_exporter_last_scrape_error",
        "stack_exporter_source_up",
    ),
    (
        "redis_exporter_scrapes_total",
        "stack_exporter_source_polls_total",
    ),
];

/// Names we do not emit at all.
const NOT_EMITTED: &[&str] = &[
    // Bad requests to its multi-target /scrape endpoint, which we do not have.
    "redis_target_scrape_request_errors_total",
    // Key-group scanning (--check-key-groups) is not part of this source; its duration
    // is reported even when the feature is off.
    "redis_last_key_groups_scrape_duration_milliseconds",
];

#[test]
fn we_emit_every_redis_exporter_name_with_its_labels() {
    let redis = TempRedis::start_with_args(&["--enable-debug-command", "yes"]);
    // Enough activity that commandstats, errorstats, latencystats, the keyspace and the
    // slowlog all have entries.
    redis.cli(&["CONFIG", "SET", "slowlog-log-slower-than", "1000"]);
    redis.cli(&["CONFIG", "SET", "latency-monitor-threshold", "5"]);
    redis.cli(&["SET", "k", "v", "EX", "1000"]);
    redis.cli(&["GET", "k"]);
    redis.cli(&["-n", "2", "SET", "k", "v"]);
    redis.cli(&["NOSUCHCOMMAND"]);
    redis.cli(&["DEBUG", "SLEEP", "0.01"]);

    let port = common::free_port();
    let mut theirs = Command::new("prometheus-redis-exporter")
        .arg(format!("-web.listen-address=127.0.0.1:{port}"))
        .arg(format!("-redis.addr={}", redis.url()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "prometheus-redis-exporter not found: run `bash scripts/test.sh`, which installs it",
        );
    let url = format!("http://127.0.0.1:{port}/metrics");
    let mut body = String::new();
    common::wait_until(Duration::from_secs(15), "redis_exporter answers", || {
        match common::try_http_get(&url, &[]) {
            Ok(r) if r.status == 200 && r.text().contains("redis_up 1") => {
                body = r.text();
                true
            }
            _ => false,
        }
    });
    let _ = theirs.kill();
    let _ = theirs.wait();

    let exporter = common::ExporterProcess::start(
        &format!("redis:\n  - name: cache\n    url: \"{}\"\n", redis.url()),
        &[],
    );
    common::wait_until(Duration::from_secs(10), "/ready", || {
        exporter.get("/ready").status == 200
    });
    let ours = series_labels(&exporter.get("/metrics").text());
    let theirs = series_labels(&body);

    let mut problems = Vec::new();
    for (name, labels) in theirs.iter().filter(|(n, _)| n.starts_with("redis_")) {
        if NOT_EMITTED.contains(&name.as_str()) {
            continue;
        }
        if let Some((_, o)) = SELF_METRICS.iter().find(|(t, _)| t == name) {
            if !ours.contains_key(*o) {
                problems.push(format!("missing {o} (for {name})"));
            }
            continue;
        }
        let ours_name = RENAMED
            .iter()
            .find(|(t, _)| t == name)
            .map(|(_, o)| *o)
            .unwrap_or(name.as_str());
        let Some(our_labels) = ours.get(ours_name) else {
            problems.push(format!("missing {name}"));
            continue;
        };
        for label in labels {
            if !our_labels.contains(label) {
                problems.push(format!("{name}: label {label} missing"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The comparison is not vacuous: it covered INFO, commandstats and friends.
    for name in [
        "redis_commands_total",
        "redis_latency_percentiles_usec",
        "redis_errors_total",
        "redis_db_keys",
        "redis_slowlog_length",
        "redis_latency_spike_duration_seconds",
        "redis_config_maxmemory",
    ] {
        assert!(
            theirs.contains_key(name),
            "redis_exporter did not emit {name}"
        );
    }
    assert!(
        theirs.len() > 100,
        "redis_exporter emitted only {} names",
        theirs.len()
    );
}
