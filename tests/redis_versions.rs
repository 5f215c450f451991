//! The Redis source on every server of `REDIS_MATRIX`: Redis 6.2 and Valkey 8 / 9 from
//! PyPI wheels (installed by `scripts/test.sh`), Debian's Redis 7.0. A server that is not
//! installed fails its test, saying how to install it.

mod common;

use std::process::Command;

use common::{TempRedis, REDIS_MATRIX};

/// `stack_exporter --once` on `redis`; returns (exit code, stdout, stderr).
fn once(redis: &TempRedis) -> (i32, String, String) {
    let dir = common::tempdir("stack-exporter-redis-versions-");
    let path = dir.path().join("config.yml");
    std::fs::write(
        &path,
        format!("redis:\n  - name: cache\n    url: \"{}\"\n", redis.url()),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stack_exporter"))
        .args(["--once", "--config.file", path.to_str().unwrap()])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The value of label `name` on the `redis_instance_info` line.
fn info_label<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let line = body
        .lines()
        .find(|l| l.starts_with("redis_instance_info{"))?;
    let start = line.find(&format!(",{name}=\""))? + name.len() + 3;
    let len = line[start..].find('"')?;
    Some(&line[start..start + len])
}

/// What every version must show. `redis_version` / `valkey_version` are the prefixes
/// the server's versions must start with (`None`: no such label).
fn check(version: &str, redis_version: &str, valkey_version: Option<&str>) {
    let redis = TempRedis::start_version(version);
    redis.cli(&["SET", "plain", "v"]);
    redis.cli(&["SET", "expiring", "v", "EX", "1000"]);
    redis.cli(&["-n", "2", "SET", "other-db", "v"]);
    for _ in 0..3 {
        redis.cli(&["GET", "plain"]);
    }
    // One WRONGTYPE error reply for errorstats.
    redis.cli(&["LPUSH", "plain", "x"]);

    let (code, body, stderr) = once(&redis);
    assert_eq!(code, 0, "{version}: {stderr}");
    let series = |s: &str| sample(&body, s);
    assert_eq!(series("redis_up{source=\"cache\"}"), Some(1.0), "{version}");

    let got = info_label(&body, "redis_version").unwrap_or_default();
    assert!(
        got.starts_with(redis_version),
        "{version}: redis_version {got}"
    );
    let got_valkey = info_label(&body, "valkey_version");
    match valkey_version {
        Some(want) => {
            assert!(
                got_valkey.is_some_and(|v| v.starts_with(want)),
                "{version}: valkey_version {got_valkey:?}"
            );
            assert_eq!(info_label(&body, "server_name"), Some("valkey"));
        }
        None => assert_eq!(got_valkey, None, "{version}"),
    }

    // Keyspace after the writes, zero-filled up to `databases`.
    let db = |name: &str, db: &str| series(&format!("{name}{{source=\"cache\",db=\"{db}\"}}"));
    assert_eq!(db("redis_db_keys", "db0"), Some(2.0), "{version}: {body}");
    assert_eq!(db("redis_db_keys_expiring", "db0"), Some(1.0), "{version}");
    assert_eq!(db("redis_db_keys", "db2"), Some(1.0), "{version}");
    assert_eq!(db("redis_db_keys", "db15"), Some(0.0), "{version}");

    // commandstats and errorstats (both 6.2+).
    assert_eq!(
        series("redis_commands_total{source=\"cache\",cmd=\"get\"}"),
        Some(3.0),
        "{version}: {body}"
    );
    assert_eq!(
        series("redis_commands_failed_calls_total{source=\"cache\",cmd=\"lpush\"}"),
        Some(1.0),
        "{version}"
    );
    assert_eq!(
        series("redis_errors_total{source=\"cache\",err=\"WRONGTYPE\"}"),
        Some(1.0),
        "{version}"
    );

    // latencystats from 7.0 on; before, no summary and no error.
    let p50 =
        series("redis_latency_percentiles_usec{source=\"cache\",cmd=\"get\",quantile=\"50\"}");
    if version == "redis-6.2" {
        assert!(
            !body.contains("redis_latency_percentiles_usec"),
            "{version}: {body}"
        );
    } else {
        assert!(p50.is_some(), "{version}: no latencystats: {body}");
        assert_eq!(
            series("redis_latency_percentiles_usec_count{source=\"cache\",cmd=\"get\"}"),
            Some(3.0),
            "{version}"
        );
    }

    // Every numeric INFO field of these versions is in the table. On failure the names
    // are in the log (stderr): add them to src/sources/redis/fields.rs.
    assert_eq!(
        series("redis_info_unknown_fields{source=\"cache\"}"),
        Some(0.0),
        "{version}: unknown INFO fields, see the log:\n{stderr}"
    );

    // A stock server accepts every optional command.
    for cmd in [
        "info|all",
        "config|get",
        "slowlog|len",
        "slowlog|get",
        "latency|latest",
    ] {
        assert_eq!(
            series(&format!(
                "redis_optional_command_available{{source=\"cache\",cmd=\"{cmd}\"}}"
            )),
            Some(1.0),
            "{version}: {cmd} refused:\n{stderr}"
        );
    }
    assert!(series("redis_config_maxmemory{source=\"cache\"}").is_some());
    assert!(series("redis_slowlog_length{source=\"cache\"}").is_some());

    let findings = common::promtool_findings(&body);
    assert!(findings.is_empty(), "{version}: {findings:#?}");
}

#[test]
fn the_matrix_is_what_these_tests_cover() {
    assert_eq!(
        REDIS_MATRIX,
        &["redis-6.2", "redis-7.0", "valkey-8", "valkey-9"]
    );
}

#[test]
fn redis_6_2() {
    check("redis-6.2", "6.2.", None);
}

#[test]
fn redis_7_0() {
    check("redis-7.0", "7.0.", None);
}

#[test]
fn valkey_8() {
    // Valkey reports the Redis version it is compatible with as redis_version.
    check("valkey-8", "7.2.", Some("8.1."));
}

#[test]
fn valkey_9() {
    check("valkey-9", "7.2.", Some("9.1."));
}
