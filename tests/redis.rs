//! The Redis source against real throwaway servers (Debian's Redis 7.0): load shows up
//! in the metrics, and optional commands a server refuses are probed once per
//! connection, logged once and never retried on every poll.

mod common;

use common::{once, samples, value};

use std::time::Duration;

use common::{ExporterProcess, TempRedis};

fn config_for(url: &str) -> String {
    format!("redis:\n  - name: cache\n    url: \"{url}\"\n")
}

/// The server's `total_error_replies`, read with redis-cli (which adds no errors).
fn error_replies(redis: &TempRedis) -> u64 {
    redis
        .cli(&["INFO", "stats"])
        .lines()
        .find_map(|l| l.trim().strip_prefix("total_error_replies:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("INFO stats has total_error_replies")
}

#[test]
fn load_shows_in_the_metrics() {
    let redis = TempRedis::start_with_args(&["--enable-debug-command", "yes"]);
    redis.cli(&["CONFIG", "SET", "slowlog-log-slower-than", "1000"]);
    redis.cli(&["CONFIG", "SET", "maxmemory", "100mb"]);
    redis.cli(&["CONFIG", "SET", "latency-monitor-threshold", "10"]);
    redis.cli(&["SET", "k", "v"]);
    for _ in 0..3 {
        redis.cli(&["GET", "k"]);
    }
    for _ in 0..2 {
        redis.cli(&["GET", "missing"]);
    }
    redis.cli(&["SET", "ttl0", "v", "EX", "1000"]);
    redis.cli(&["-n", "3", "SET", "a", "1", "EX", "1000"]);
    redis.cli(&["-n", "3", "SET", "b", "2"]);
    // An error reply (WRONGTYPE) and an unknown command (ERR).
    redis.cli(&["LPUSH", "k", "x"]);
    redis.cli(&["NOSUCHCOMMAND"]);
    redis.cli(&["DEBUG", "SLEEP", "0.05"]);
    // Redis estimates avg_ttl in its background expire cycle (10 times a second), so it
    // reads 0 until that cycle has sampled the keys: wait for the server to report it.
    common::wait_until(
        std::time::Duration::from_secs(10),
        "avg_ttl estimated",
        || {
            redis
                .cli(&["INFO", "keyspace"])
                .lines()
                .any(|l| l.starts_with("db0:") && !l.contains("avg_ttl=0"))
        },
    );

    let (code, body, stderr) = once(&config_for(&redis.url()));
    assert_eq!(code, 0, "{stderr}");
    let s = samples(&body);
    assert_eq!(value(&s, "redis_up", &[]), Some(1.0), "{body}");
    assert_eq!(value(&s, "redis_keyspace_hits_total", &[]), Some(3.0));
    assert_eq!(value(&s, "redis_keyspace_misses_total", &[]), Some(2.0));
    assert_eq!(value(&s, "redis_db_keys", &[("db", "db0")]), Some(2.0));
    assert_eq!(value(&s, "redis_db_keys", &[("db", "db3")]), Some(2.0));
    assert_eq!(
        value(&s, "redis_db_keys_expiring", &[("db", "db3")]),
        Some(1.0)
    );
    assert_eq!(value(&s, "redis_db_keys", &[("db", "db15")]), Some(0.0));
    assert!(value(&s, "redis_db_avg_ttl_seconds", &[("db", "db0")]).is_some_and(|v| v > 900.0));
    assert_eq!(
        value(&s, "redis_commands_total", &[("cmd", "get")]),
        Some(5.0)
    );
    assert!(value(
        &s,
        "redis_commands_duration_seconds_total",
        &[("cmd", "get")]
    )
    .is_some_and(|v| v > 0.0));
    assert_eq!(
        value(&s, "redis_commands_failed_calls_total", &[("cmd", "lpush")]),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "redis_errors_total", &[("err", "WRONGTYPE")]),
        Some(1.0)
    );
    assert!(value(&s, "redis_errors_total", &[("err", "ERR")]).is_some_and(|v| v >= 1.0));
    // 7.0 has latencystats: the summary redis_exporter emits.
    for q in ["50", "99", "99.9"] {
        assert!(
            value(
                &s,
                "redis_latency_percentiles_usec",
                &[("cmd", "get"), ("quantile", q)]
            )
            .is_some(),
            "quantile {q}"
        );
    }
    assert_eq!(
        value(
            &s,
            "redis_latency_percentiles_usec_count",
            &[("cmd", "get")]
        ),
        Some(5.0)
    );
    assert!(value(&s, "redis_slowlog_length", &[]).is_some_and(|v| v >= 1.0));
    assert!(value(&s, "redis_last_slow_execution_duration_seconds", &[]).is_some_and(|v| v >= 0.04));
    assert!(
        value(
            &s,
            "redis_latency_spike_duration_seconds",
            &[("event_name", "command")]
        )
        .is_some_and(|v| v >= 0.04),
        "{body}"
    );
    assert!(value(&s, "redis_latency_spike_last", &[("event_name", "command")]).is_some());
    assert_eq!(value(&s, "redis_config_maxmemory", &[]), Some(104857600.0));
    assert_eq!(value(&s, "redis_memory_max_bytes", &[]), Some(104857600.0));
    assert!(value(&s, "redis_config_maxclients", &[]).is_some());
    assert!(value(&s, "redis_memory_used_bytes", &[]).is_some_and(|v| v > 0.0));
    assert_eq!(
        value(
            &s,
            "redis_instance_info",
            &[
                ("role", "master"),
                ("redis_mode", "standalone"),
                ("tcp_port", &redis.port().to_string()),
                ("maxmemory_policy", "noeviction"),
            ]
        ),
        Some(1.0),
        "{body}"
    );
    let info = s
        .iter()
        .find(|(n, _, _)| n == "redis_instance_info")
        .unwrap();
    assert!(info.1["redis_version"].starts_with("7."));
    assert!(!info.1["run_id"].is_empty() && !info.1["master_replid"].is_empty());
    // The table knows every numeric field of Redis 7.0.
    assert_eq!(value(&s, "redis_info_unknown_fields", &[]), Some(0.0));
    for cmd in [
        "info|all",
        "config|get",
        "slowlog|len",
        "slowlog|get",
        "latency|latest",
    ] {
        assert_eq!(
            value(&s, "redis_optional_command_available", &[("cmd", cmd)]),
            Some(1.0),
            "{cmd}"
        );
    }
    assert!(
        value(&s, "redis_cpu_sys_seconds_total", &[]).is_some()
            && value(&s, "redis_connected_clients", &[]).is_some_and(|v| v >= 1.0)
            && value(&s, "redis_rdb_last_bgsave_status", &[]) == Some(1.0)
    );
    let findings = common::promtool_findings(&body);
    assert!(findings.is_empty(), "{findings:#?}");
}

/// The exporter polling `url` every second; returns it once it has polled `redis` at
/// least once with `redis_up 1`.
fn polling(url: &str) -> ExporterProcess {
    let exporter = ExporterProcess::start(
        &format!(
            "defaults: {{ interval: 1s, timeout: 900ms }}\n{}",
            config_for(url)
        ),
        &[],
    );
    common::wait_until(Duration::from_secs(10), "redis_up 1", || {
        value(&samples(&exporter.get("/metrics").text()), "redis_up", &[]) == Some(1.0)
    });
    exporter
}

fn polls(exporter: &ExporterProcess) -> f64 {
    value(
        &samples(&exporter.get("/metrics").text()),
        "stack_exporter_source_polls_total",
        &[("source", "cache")],
    )
    .unwrap_or(0.0)
}

/// Waits for `n` more polls.
fn wait_polls(exporter: &ExporterProcess, n: f64) {
    let start = polls(exporter);
    common::wait_until(Duration::from_secs(15), "more polls", || {
        polls(exporter) >= start + n
    });
}

/// What every refused-command scenario must show: up, the rest present, the refused
/// commands 0 and logged once, and no error replies added by polls after the first.
fn assert_refused_once(redis: &TempRedis, url: &str, refused: &[&str], accepted: &[&str]) {
    let exporter = polling(url);
    wait_polls(&exporter, 1.0);
    let errors_before = error_replies(redis);
    wait_polls(&exporter, 3.0);
    let errors_after = error_replies(redis);
    assert_eq!(
        errors_before, errors_after,
        "polls after the first added error replies to the server"
    );
    let body = exporter.get("/metrics").text();
    let s = samples(&body);
    assert_eq!(value(&s, "redis_up", &[]), Some(1.0));
    for cmd in refused {
        assert_eq!(
            value(&s, "redis_optional_command_available", &[("cmd", cmd)]),
            Some(0.0),
            "{cmd}: {body}"
        );
        let logs = exporter.logs();
        assert_eq!(
            logs.matches(&format!("refused {cmd} ")).count(),
            1,
            "{cmd} logged once: {logs}"
        );
    }
    for cmd in accepted {
        assert_eq!(
            value(&s, "redis_optional_command_available", &[("cmd", cmd)]),
            Some(1.0),
            "{cmd}"
        );
    }
    // Everything from INFO is there, and the limits come from INFO without CONFIG.
    for name in [
        "redis_memory_used_bytes",
        "redis_commands_processed_total",
        "redis_config_maxmemory",
        "redis_config_maxclients",
        "redis_instance_info",
    ] {
        assert!(value(&s, name, &[]).is_some(), "{name} missing: {body}");
    }
    assert!(value(&s, "redis_commands_total", &[("cmd", "info")]).is_some());
    assert!(value(&s, "redis_db_keys", &[("db", "db0")]).is_some());
}

#[test]
fn config_renamed_away_is_skipped_after_one_probe() {
    let redis = TempRedis::start_with_args(&["--rename-command", "CONFIG", ""]);
    assert_refused_once(
        &redis,
        &redis.url(),
        &["config|get"],
        &["info|all", "slowlog|len", "slowlog|get", "latency|latest"],
    );
}

#[test]
fn acl_user_without_config_slowlog_latency() {
    let redis = TempRedis::start();
    redis.cli(&[
        "ACL",
        "SETUSER",
        "mon",
        "on",
        ">pw",
        "+info",
        "+ping",
        "+client|setname",
        "-config",
        "-slowlog",
        "-latency",
    ]);
    let url = format!("redis://mon:pw@127.0.0.1:{}", redis.port());
    assert_refused_once(
        &redis,
        &url,
        &["config|get", "slowlog|len", "slowlog|get", "latency|latest"],
        &["info|all"],
    );
}

#[test]
fn cluster_mode_reports_cluster_info() {
    let redis = TempRedis::start_with_args(&["--cluster-enabled", "yes"]);
    let (code, body, stderr) = once(&config_for(&redis.url()));
    assert_eq!(code, 0, "{stderr}");
    let s = samples(&body);
    assert_eq!(value(&s, "redis_up", &[]), Some(1.0));
    assert_eq!(value(&s, "redis_cluster_enabled", &[]), Some(1.0));
    // A lone node with no slots: the cluster is failing.
    assert_eq!(value(&s, "redis_cluster_state", &[]), Some(0.0), "{body}");
    assert_eq!(value(&s, "redis_cluster_known_nodes", &[]), Some(1.0));
    assert_eq!(
        value(
            &s,
            "redis_optional_command_available",
            &[("cmd", "cluster|info")]
        ),
        Some(1.0)
    );
    // One database in cluster mode.
    assert_eq!(value(&s, "redis_db_keys", &[("db", "db0")]), Some(0.0));
    assert_eq!(value(&s, "redis_db_keys", &[("db", "db1")]), None);
}
