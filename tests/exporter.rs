//! The binary end to end, against real PostgreSQL and Redis servers: the machine's own
//! and throwaway ones these tests start, stop and break.

mod common;

use common::{metrics, sample_value, wait_for_value};

use std::io::Read;
use std::time::Duration;

use common::{free_port, wait_until, ExporterProcess, TempPostgres, TempRedis};

const MACHINE_PG: &str = "postgresql://postgres@127.0.0.1:5432/postgres";
const MACHINE_REDIS: &str = "redis://127.0.0.1:6379";

fn write_config(dir: &tempfile::TempDir, yaml: &str) -> std::path::PathBuf {
    let path = dir.path().join("stack_exporter.yml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn wait_ready(exporter: &ExporterProcess) {
    wait_until(Duration::from_secs(10), "/ready == 200", || {
        exporter.get("/ready").status == 200
    });
}

#[test]
fn serves_machine_postgres_and_redis_with_valid_exposition() {
    let exporter = ExporterProcess::start(
        &format!(
            "defaults: {{ interval: 2s, timeout: 1s }}\n\
             postgres:\n  - name: pg\n    url: {MACHINE_PG}\n    labels: {{ team: core }}\n\
             redis:\n  - name: cache\n    url: {MACHINE_REDIS}\n"
        ),
        &[],
    );
    wait_ready(&exporter);
    let body = metrics(&exporter);
    assert_eq!(
        sample_value(&body, "pg_up{source=\"pg\",team=\"core\"}"),
        Some(1.0),
        "{body}"
    );
    assert!(
        body.contains("pg_static{source=\"pg\",team=\"core\",short_version=\"15."),
        "{body}"
    );
    assert_eq!(
        sample_value(&body, "redis_up{source=\"cache\"}"),
        Some(1.0),
        "{body}"
    );
    assert!(
        body.contains("redis_instance_info{source=\"cache\",redis_version=\"7."),
        "{body}"
    );
    assert!(body.contains("role=\"master\""), "{body}");
    assert_eq!(
        sample_value(
            &body,
            "stack_exporter_source_up{source=\"pg\",kind=\"postgres\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample_value(
            &body,
            "stack_exporter_source_up{source=\"cache\",kind=\"redis\"}"
        ),
        Some(1.0)
    );
    assert!(sample_value(&body, "process_resident_memory_bytes").unwrap() > 0.0);
    assert!(body.contains("stack_exporter_build_info{version=\""));
    // One HELP/TYPE per family, no repeated series.
    let mut seen = std::collections::HashSet::new();
    for line in body.lines() {
        assert!(seen.insert(line.to_owned()), "repeated line: {line}");
    }
    let findings = common::promtool_findings(&body);
    assert!(findings.is_empty(), "promtool findings: {findings:#?}");
}

#[test]
fn postgres_killed_is_reported_within_an_interval_and_recovers() {
    let pg = TempPostgres::start();
    let mut redis = TempRedis::start();
    let exporter = ExporterProcess::start(
        &format!(
            "defaults: {{ interval: 2s, timeout: 1s }}\n\
             postgres: [ {{ name: db, url: \"{}\" }} ]\n\
             redis: [ {{ name: cache, url: \"{}\" }} ]\n",
            pg.url(),
            redis.url()
        ),
        &[],
    );
    wait_for_value(
        &exporter,
        "pg_up{source=\"db\"}",
        1.0,
        Duration::from_secs(10),
    );
    wait_for_value(
        &exporter,
        "redis_up{source=\"cache\"}",
        1.0,
        Duration::from_secs(10),
    );

    pg.kill9();
    redis.stop();
    // One interval + timeout, plus slack for a loaded CI machine.
    let bound = Duration::from_secs(2 + 1 + 3);
    wait_for_value(&exporter, "pg_up{source=\"db\"}", 0.0, bound);
    wait_for_value(&exporter, "redis_up{source=\"cache\"}", 0.0, bound);
    let body = metrics(&exporter);
    assert_eq!(
        sample_value(
            &body,
            "stack_exporter_source_up{source=\"db\",kind=\"postgres\"}"
        ),
        Some(0.0)
    );
    assert!(
        sample_value(
            &body,
            "stack_exporter_source_errors_total{source=\"db\",kind=\"postgres\",reason=\"connect\"}"
        )
        .unwrap()
            >= 1.0,
        "{body}"
    );
    // A down source serves its health only, not stale values.
    assert!(!body.contains("pg_static{source=\"db\""), "{body}");
    assert!(
        !body.contains("redis_instance_info{source=\"cache\""),
        "{body}"
    );

    pg.start_again();
    redis.start_again();
    // Backoff is capped at the interval, so recovery is seen within interval + timeout.
    wait_for_value(&exporter, "pg_up{source=\"db\"}", 1.0, bound);
    wait_for_value(&exporter, "redis_up{source=\"cache\"}", 1.0, bound);
    assert!(metrics(&exporter).contains("pg_static{source=\"db\""));
}

/// A server that accepts connections and never answers: a hung backend.
fn silent_server() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

#[test]
fn hung_backend_times_out_and_metrics_stay_fast() {
    let (_listener, port) = silent_server();
    let exporter = ExporterProcess::start(
        &format!(
            "defaults: {{ interval: 3s, timeout: 1s }}\n\
             postgres: [ {{ name: hung, url: \"postgresql://postgres@127.0.0.1:{port}/postgres\" }} ]\n\
             redis: [ {{ name: cache, url: {MACHINE_REDIS} }} ]\n"
        ),
        &[],
    );
    wait_until(Duration::from_secs(8), "a timeout is counted", || {
        sample_value(
            &metrics(&exporter),
            "stack_exporter_source_errors_total{source=\"hung\",kind=\"postgres\",reason=\"timeout\"}",
        )
        .is_some_and(|v| v >= 1.0)
    });
    let body = metrics(&exporter);
    assert_eq!(sample_value(&body, "pg_up{source=\"hung\"}"), Some(0.0));
    assert_eq!(sample_value(&body, "redis_up{source=\"cache\"}"), Some(1.0));
    let page = exporter.get("/").text();
    assert!(page.contains("timeout"), "{page}");
}

#[test]
fn ready_turns_green_after_the_first_poll_of_every_source() {
    // An app probe against a server that never answers: its first poll ends only at the
    // timeout, so /ready is 503 naming it until then.
    let (_listener, port) = silent_server();
    let exporter = ExporterProcess::start(
        &format!(
            "defaults: {{ interval: 10s, timeout: 4s }}\n\
             redis: [ {{ name: cache, url: {MACHINE_REDIS} }} ]\n\
             apps:\n  - name: slowapp\n    probes: [ {{ url: \"http://127.0.0.1:{port}/health\" }} ]\n"
        ),
        &[],
    );
    let first = exporter.get("/ready");
    assert_eq!(first.status, 503, "{}", first.text());
    let json: serde_json::Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(json["status"], "pending");
    assert!(json["pending"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v == "slowapp"));
    wait_ready(&exporter);
    let body = metrics(&exporter);
    assert_eq!(
        sample_value(&body, "probe_success{source=\"slowapp\",probe=\""),
        Some(0.0),
        "{body}"
    );
}

/// A tiny real HTTP app: `/health` → 200, `/broken` → 500, anything else 404.
fn start_app() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                use std::io::{BufRead, BufReader, Write};
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    return;
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let (status, body) = if request_line.contains(" /health ") {
                    ("200 OK", "{\"status\":\"healthy\"}")
                } else if request_line.contains(" /broken ") {
                    ("500 Internal Server Error", "boom")
                } else {
                    ("404 Not Found", "no")
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

#[test]
fn app_probes_report_blackbox_metrics() {
    let port = start_app();
    let exporter = ExporterProcess::start(
        &format!(
            "defaults: {{ interval: 2s, timeout: 1s }}\n\
             apps:\n  - name: api\n    probes:\n\
             \x20     - {{ name: health, url: \"http://127.0.0.1:{port}/health\" }}\n\
             \x20     - {{ name: broken, url: \"http://127.0.0.1:{port}/broken\" }}\n\
             \x20     - {{ name: teapot, url: \"http://127.0.0.1:{port}/broken\", expected_status: [500] }}\n"
        ),
        &[],
    );
    wait_ready(&exporter);
    let body = metrics(&exporter);
    let v = |p: &str| sample_value(&body, p);
    assert_eq!(
        v("probe_success{source=\"api\",probe=\"health\"}"),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        v("probe_http_status_code{source=\"api\",probe=\"health\"}"),
        Some(200.0)
    );
    assert_eq!(
        v("probe_success{source=\"api\",probe=\"broken\"}"),
        Some(0.0)
    );
    assert_eq!(
        v("probe_http_status_code{source=\"api\",probe=\"broken\"}"),
        Some(500.0)
    );
    assert_eq!(
        v("probe_success{source=\"api\",probe=\"teapot\"}"),
        Some(1.0)
    );
    let d = v("probe_duration_seconds{source=\"api\",probe=\"health\"}").unwrap();
    assert!(d > 0.0 && d < 1.0, "{d}");
    // The exporter collected fine: a failing probe is data, not a failed source.
    assert_eq!(
        v("stack_exporter_source_up{source=\"api\",kind=\"app\"}"),
        Some(1.0)
    );
}

#[test]
fn gzip_and_openmetrics_are_negotiated() {
    let exporter = ExporterProcess::start(
        &format!("redis: [ {{ name: cache, url: {MACHINE_REDIS} }} ]\n"),
        &[],
    );
    wait_ready(&exporter);

    let plain = exporter.get("/metrics");
    assert_eq!(
        plain.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(plain.header("content-encoding").is_none());
    assert!(plain
        .text()
        .contains("# TYPE stack_exporter_source_polls_total counter"));

    let gz = exporter.get_with("/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut decoded = String::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_string(&mut decoded)
        .unwrap();
    assert!(
        decoded.contains("redis_up{source=\"cache\"} 1"),
        "{decoded}"
    );

    let no_gzip = exporter.get_with("/metrics", &[("Accept-Encoding", "gzip;q=0, identity")]);
    assert!(no_gzip.header("content-encoding").is_none());

    let prometheus_accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let om = exporter.get_with("/metrics", &[("Accept", prometheus_accept)]);
    assert!(
        om.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text; version=1.0.0"),
        "{:?}",
        om.header("content-type")
    );
    let text = om.text();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        text.contains("# TYPE stack_exporter_source_polls counter"),
        "{text}"
    );
}

#[test]
fn metrics_auth_basic_and_bearer() {
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("metrics_password");
    std::fs::write(&password_file, "correct horse\n").unwrap();
    let config = write_config(
        &dir,
        &format!(
            "web:\n  basic_auth: {{ username: prom, password_file: \"{}\" }}\n\
             redis: [ {{ name: cache, url: {MACHINE_REDIS} }} ]\n",
            password_file.display()
        ),
    );
    let exporter = ExporterProcess::builder()
        .args(&["--config.file", config.to_str().unwrap()])
        .start();
    let denied = exporter.get("/metrics");
    assert_eq!(denied.status, 401);
    assert!(denied
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic"));
    assert_eq!(exporter.get("/").status, 401);
    assert_eq!(exporter.get("/health").status, 200);
    use base64::Engine;
    let good = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("prom:correct horse")
    );
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("prom:wrong")
    );
    assert_eq!(
        exporter
            .get_with("/metrics", &[("Authorization", &good)])
            .status,
        200
    );
    assert_eq!(
        exporter
            .get_with("/metrics", &[("Authorization", &wrong)])
            .status,
        401
    );
    drop(exporter);

    let config = write_config(
        &dir,
        &format!(
            "web:\n  bearer_token: \"${{METRICS_TOKEN}}\"\n\
             redis: [ {{ name: cache, url: {MACHINE_REDIS} }} ]\n"
        ),
    );
    let exporter = ExporterProcess::builder()
        .args(&["--config.file", config.to_str().unwrap()])
        .env("METRICS_TOKEN", "t0ken-abc")
        .start();
    assert_eq!(exporter.get("/metrics").status, 401);
    assert_eq!(
        exporter
            .get_with("/metrics", &[("Authorization", "Bearer t0ken-abc")])
            .status,
        200
    );
    assert_eq!(
        exporter
            .get_with("/metrics", &[("Authorization", "Bearer t0ken-abd")])
            .status,
        401
    );
}

#[test]
fn sighup_applies_a_good_config_and_keeps_the_old_one_on_a_bad_one() {
    let exporter = ExporterProcess::start(
        &format!(
            "defaults: {{ interval: 1s, timeout: 500ms }}\nredis: [ {{ name: cache, url: {MACHINE_REDIS} }} ]\n"
        ),
        &[],
    );
    let config_path = exporter.config_path().unwrap().to_owned();
    let rewrite = |yaml: &str| std::fs::write(&config_path, yaml).unwrap();
    wait_for_value(
        &exporter,
        "redis_up{source=\"cache\"}",
        1.0,
        Duration::from_secs(10),
    );
    let polls_before = sample_value(
        &metrics(&exporter),
        "stack_exporter_source_polls_total{source=\"cache\",kind=\"redis\"}",
    )
    .unwrap();

    // Good: add a PostgreSQL source; the unchanged Redis source keeps running.
    rewrite(&format!(
        "defaults: {{ interval: 1s, timeout: 500ms }}\n\
             redis: [ {{ name: cache, url: {MACHINE_REDIS} }} ]\n\
             postgres: [ {{ name: pg, url: \"{MACHINE_PG}\" }} ]\n"
    ));
    exporter.signal(libc::SIGHUP);
    wait_for_value(
        &exporter,
        "pg_up{source=\"pg\"}",
        1.0,
        Duration::from_secs(10),
    );
    let body = metrics(&exporter);
    assert_eq!(
        sample_value(&body, "stack_exporter_config_last_reload_successful"),
        Some(1.0)
    );
    let polls_after = sample_value(
        &body,
        "stack_exporter_source_polls_total{source=\"cache\",kind=\"redis\"}",
    )
    .unwrap();
    assert!(
        polls_after >= polls_before,
        "the kept source was restarted: {polls_before} → {polls_after}"
    );

    // Bad: an unknown field. The running config stays.
    rewrite("redis: [ { name: cache, url: redis://x, colour: blue } ]\n");
    exporter.signal(libc::SIGHUP);
    wait_for_value(
        &exporter,
        "stack_exporter_config_last_reload_successful",
        0.0,
        Duration::from_secs(5),
    );
    std::thread::sleep(Duration::from_millis(1500));
    let body = metrics(&exporter);
    assert_eq!(sample_value(&body, "pg_up{source=\"pg\"}"), Some(1.0));
    assert_eq!(sample_value(&body, "redis_up{source=\"cache\"}"), Some(1.0));
    let logs = exporter.logs();
    assert!(
        logs.contains("colour"),
        "the log names the bad field: {logs}"
    );

    // Removing a source removes its series.
    rewrite(
        &format!("defaults: {{ interval: 1s, timeout: 500ms }}\nredis: [ {{ name: cache, url: {MACHINE_REDIS} }} ]\n"),
    );
    exporter.signal(libc::SIGHUP);
    wait_until(Duration::from_secs(5), "pg source removed", || {
        let body = metrics(&exporter);
        !body.contains("source=\"pg\"")
            && sample_value(&body, "stack_exporter_config_last_reload_successful") == Some(1.0)
    });
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let mut exporter = ExporterProcess::start(
        &format!("redis: [ {{ name: cache, url: {MACHINE_REDIS} }} ]\n"),
        &[],
    );
    exporter.signal(libc::SIGTERM);
    let status = exporter
        .wait_exit(Duration::from_secs(10))
        .expect("exited after SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[test]
fn builtin_default_uses_database_url_and_redis_url() {
    let pg = TempPostgres::start();
    let redis = TempRedis::start();
    // No --config.file, and the working directory (its own temp dir) has none either.
    let exporter = ExporterProcess::builder()
        .env_remove("STACK_EXPORTER_CONFIG_FILE")
        .env("DATABASE_URL", &pg.url())
        .env("REDIS_URL", &redis.url())
        .start();
    wait_ready(&exporter);
    let body = metrics(&exporter);
    assert_eq!(
        sample_value(&body, "pg_up{source=\"postgres\"}"),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample_value(&body, "redis_up{source=\"redis\"}"),
        Some(1.0),
        "{body}"
    );
    let page = exporter.get("/").text();
    assert!(page.contains(&format!("127.0.0.1:{}", pg.port())), "{page}");
    assert!(
        page.contains(&format!("127.0.0.1:{}", redis.port())),
        "{page}"
    );
    assert!(page.contains("built-in default"), "{page}");
}

#[test]
fn builtin_default_without_env_polls_the_local_servers() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stack_exporter"))
        .arg("--once")
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("STACK_EXPORTER_CONFIG_FILE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sample_value(&stdout, "pg_up{source=\"postgres\"}"),
        Some(1.0),
        "{stdout}"
    );
    assert_eq!(
        sample_value(&stdout, "redis_up{source=\"redis\"}"),
        Some(1.0),
        "{stdout}"
    );
}

#[test]
fn once_exits_non_zero_when_a_source_fails() {
    let dir = tempfile::tempdir().unwrap();
    let dead = free_port();
    let config = write_config(
        &dir,
        &format!(
            "defaults: {{ interval: 5s, timeout: 2s }}\n\
             redis: [ {{ name: cache, url: {MACHINE_REDIS} }}, {{ name: dead, url: \"redis://127.0.0.1:{dead}\" }} ]\n"
        ),
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stack_exporter"))
        .args(["--once", "--config.file", config.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        sample_value(&stdout, "redis_up{source=\"cache\"}"),
        Some(1.0),
        "{stdout}"
    );
    assert_eq!(
        sample_value(&stdout, "redis_up{source=\"dead\"}"),
        Some(0.0),
        "{stdout}"
    );
    assert!(stderr.contains("source dead (redis): connect"), "{stderr}");
}

#[test]
fn check_config_exit_codes_and_redaction() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_config(
        &dir,
        "postgres: [ { name: pg, url: \"postgresql://app:Hunter2Secret@db.internal:5432/app\" } ]\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stack_exporter"))
        .args(["--check-config", "--config.file", good.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("postgresql://app:***@db.internal:5432/app"),
        "{stdout}"
    );
    assert!(!stdout.contains("Hunter2Secret"), "{stdout}");

    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "defaults:\n  interval: 15 parsecs\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stack_exporter"))
        .args(["--check-config", "--config.file", bad.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("bad.yml:2:"), "{stderr}");
    assert!(stderr.contains("15 parsecs"), "{stderr}");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stack_exporter"))
        .args(["--check-config", "--config.file", "/nonexistent/x.yml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.yml"));
}

#[test]
fn passwords_never_reach_logs_metrics_or_the_status_page() {
    let pg = TempPostgres::start_with_password_auth("app", "CorrectPgPass1");
    let redis = TempRedis::start_with_args(&["--requirepass", "CorrectRedisPass1"]);
    let probe_port = start_app();
    let exporter = ExporterProcess::start(
        &format!(
            "defaults: {{ interval: 1s, timeout: 800ms }}\n\
             postgres:\n\
             \x20 - {{ name: db, url: \"postgresql://app:WrongPgSecret9@127.0.0.1:{0}/postgres\" }}\n\
             \x20 - {{ name: dbq, url: \"postgresql://app@127.0.0.1:{0}/postgres?password=QueryPgSecret9\" }}\n\
             redis: [ {{ name: cache, url: \"redis://:WrongRedisSecret9@127.0.0.1:{1}\" }} ]\n\
             apps:\n  - name: api\n    probes: [ {{ url: \"http://probeuser:ProbeSecret9@127.0.0.1:{2}/health?token=QueryTokenSecret9\", headers: {{ X-Api-Key: TopHeaderSecret9 }} }} ]\n",
            pg.port(),
            redis.port(),
            probe_port
        ),
        &["--log.level", "debug"],
    );
    wait_until(Duration::from_secs(10), "auth failures counted", || {
        let body = metrics(&exporter);
        sample_value(&body, "stack_exporter_source_errors_total{source=\"db\",kind=\"postgres\",reason=\"auth\"}")
            .is_some_and(|v| v >= 1.0)
            && sample_value(&body, "stack_exporter_source_errors_total{source=\"cache\",kind=\"redis\",reason=\"auth\"}")
                .is_some_and(|v| v >= 1.0)
    });
    std::thread::sleep(Duration::from_millis(1500));
    let page = exporter.get("/").text();
    assert!(page.contains("password authentication failed"), "{page}");
    let everything = format!(
        "{}\n{}\n{}\n{}",
        metrics(&exporter),
        page,
        exporter.get("/ready").text(),
        exporter.logs()
    );
    assert!(
        sample_value(
            &everything,
            "stack_exporter_source_errors_total{source=\"dbq\",kind=\"postgres\",reason=\"auth\"}"
        )
        .is_some_and(|v| v >= 1.0),
        "{everything}"
    );
    for secret in [
        "WrongPgSecret9",
        "QueryPgSecret9",
        "WrongRedisSecret9",
        "ProbeSecret9",
        "QueryTokenSecret9",
        "TopHeaderSecret9",
    ] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked:\n{everything}"
        );
    }
    assert!(
        everything.contains("postgresql://app:***@127.0.0.1"),
        "{everything}"
    );
}

#[test]
fn slow_clients_are_cut_off_and_connections_are_capped() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let exporter = ExporterProcess::start(
        &format!(
            "web: {{ header_read_timeout: 2s, max_connections: 2 }}\n\
             redis: [ {{ name: cache, url: {MACHINE_REDIS} }} ]\n"
        ),
        &[],
    );
    let connect = || TcpStream::connect(exporter.addr()).unwrap();
    // A client that never finishes its headers is disconnected after the timeout.
    let mut slow = connect();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 64];
    let n = slow.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "expected the server to close the connection");
    assert!(started.elapsed() >= Duration::from_millis(1500));
    drop(slow);

    // Two idle connections hold both slots; a third client waits in the accept queue.
    let held_a = connect();
    let _held_b = connect();
    std::thread::sleep(Duration::from_millis(200));
    let mut third = connect();
    third
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    assert!(
        third.read(&mut buf).is_err(),
        "the third connection was served while two were held"
    );
    // Freeing a slot lets it through.
    drop(held_a);
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut response = Vec::new();
    third.read_to_end(&mut response).unwrap();
    assert!(
        response.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&response)
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dead = free_port();
    let exporter = ExporterProcess::start(
        &format!(
            "defaults: {{ interval: 1s, timeout: 500ms }}\n\
             redis: [ {{ name: dead, url: \"redis://:JsonLogSecret7@127.0.0.1:{dead}\" }} ]\n"
        ),
        &["--log.format", "json"],
    );
    wait_until(Duration::from_secs(10), "a poll failure is logged", || {
        exporter.stderr().contains("poll failed")
    });
    let stderr = exporter.stderr();
    let mut saw_failure = false;
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["level"].is_string(), "{line}");
        if v["message"] == "poll failed" {
            saw_failure = true;
            assert_eq!(v["source"], "dead", "{line}");
            assert_eq!(v["reason"], "connect", "{line}");
            assert!(
                v["error"]
                    .as_str()
                    .unwrap()
                    .contains("redis://:***@127.0.0.1"),
                "{line}"
            );
        }
    }
    assert!(saw_failure, "{stderr}");
    assert!(!stderr.contains("JsonLogSecret7"));
}

/// A server that answers every connection with an HTTP response: garbage to a database
/// or cache client.
fn garbage_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut buf = [0u8; 512];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
                std::thread::sleep(Duration::from_secs(5));
            });
        }
    });
    port
}

#[test]
fn backends_answering_garbage_are_down_with_a_reason_and_metrics_keep_serving() {
    let port = garbage_server();
    let exporter = ExporterProcess::start(
        &format!(
            "defaults: {{ interval: 2s, timeout: 1s }}\n\
             postgres: [ {{ name: pg_garbage, url: \"postgresql://postgres@127.0.0.1:{port}/postgres\" }} ]\n\
             redis:\n  - {{ name: redis_garbage, url: \"redis://127.0.0.1:{port}\" }}\n  - {{ name: cache, url: {MACHINE_REDIS} }}\n"
        ),
        &[],
    );
    wait_ready(&exporter);
    let body = metrics(&exporter);
    assert_eq!(
        sample_value(&body, "pg_up{source=\"pg_garbage\"}"),
        Some(0.0),
        "{body}"
    );
    assert_eq!(
        sample_value(&body, "redis_up{source=\"redis_garbage\"}"),
        Some(0.0),
        "{body}"
    );
    assert_eq!(
        sample_value(&body, "redis_up{source=\"cache\"}"),
        Some(1.0),
        "{body}"
    );
    assert!(
        sample_value(&body, "stack_exporter_source_errors_total{source=\"redis_garbage\",kind=\"redis\",reason=\"protocol\"}").is_some_and(|v| v >= 1.0),
        "{body}"
    );
    // tokio-postgres reads the HTTP text as a message header with a huge length and waits
    // for the rest: our timeout is what ends it.
    assert!(
        sample_value(&body, "stack_exporter_source_errors_total{source=\"pg_garbage\",kind=\"postgres\",reason=\"timeout\"}").is_some_and(|v| v >= 1.0),
        "{body}"
    );
}

#[test]
fn https_probes_verify_certificates() {
    // A TLS server with a self-signed certificate: reachable, but not trusted.
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl not found: run `bash scripts/test.sh`, which installs it");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let mut server = std::process::Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept", &port.to_string()])
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(5), "openssl s_server listens", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let exporter = ExporterProcess::start(
        &format!(
            "defaults: {{ interval: 2s, timeout: 1s }}\n\
             apps:\n  - name: secure\n    probes: [ {{ name: tls, url: \"https://localhost:{port}/\" }} ]\n"
        ),
        &["--log.level", "debug"],
    );
    wait_ready(&exporter);
    let body = metrics(&exporter);
    assert_eq!(
        sample_value(&body, "probe_success{source=\"secure\",probe=\"tls\"}"),
        Some(0.0),
        "{body}"
    );
    assert_eq!(
        sample_value(
            &body,
            "probe_http_status_code{source=\"secure\",probe=\"tls\"}"
        ),
        Some(0.0)
    );
    wait_until(
        Duration::from_secs(5),
        "the probe failure is logged",
        || exporter.logs().contains("probe failed"),
    );
    let logs = exporter.logs();
    // The handshake happened and the certificate was refused: not a scheme error.
    assert!(logs.to_lowercase().contains("certificate"), "{logs}");
    let _ = server.kill();
    let _ = server.wait();
}
