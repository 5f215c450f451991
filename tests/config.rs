//! Loading, error reporting and redaction of the config file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use stack_exporter::config::{
    builtin_default, load_file, load_str, Config, ConfigError, ConfigOrigin, CustomQuery,
    CustomValue, CustomValueKind, Env, HttpAuth, LatencySignal, PostgresCollectors, QueueName,
    QueueSignal, StatementsOptions, TablesOptions, TimeUnit,
};

const FILE: &str = "config.yaml";

fn env() -> Env {
    Env::from_map([
        ("DB_PASS_URL", "postgresql://app:pgpass-1@db:5432/app"),
        ("HASHY", "a#b: c"),
        ("POLL", "30s"),
        ("TOKEN", "tok-secret-3"),
    ])
}

fn load(yaml: &str) -> Result<Config, Vec<ConfigError>> {
    load_str(yaml, Some(Path::new(FILE)), &env()).map_err(|e| e.0)
}

fn ok(yaml: &str) -> Config {
    match load(yaml) {
        Ok(c) => c,
        Err(e) => panic!("expected success, got: {e:#?}"),
    }
}

/// The errors of a config expected to fail, rendered with Display.
fn errs(yaml: &str) -> Vec<String> {
    match load(yaml) {
        Ok(c) => panic!("expected an error, got {c:#?}"),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

fn one_err(yaml: &str) -> ConfigError {
    match load(yaml) {
        Ok(c) => panic!("expected an error, got {c:#?}"),
        Err(mut e) => {
            assert_eq!(e.len(), 1, "expected exactly one error: {e:#?}");
            e.remove(0)
        }
    }
}

fn assert_at(e: &ConfigError, path: &str, line: usize, column: usize) {
    assert_eq!(e.path, path, "{e}");
    assert_eq!((e.line, e.column), (Some(line), Some(column)), "{e}");
    assert_eq!(e.file.as_deref(), Some(Path::new(FILE)), "{e}");
}

const PG: &str = "postgres:\n  - name: main\n    url: postgresql://u@db/app\n";

// ---------------------------------------------------------------- parse errors

#[test]
fn unknown_top_level_field() {
    let e = one_err("web: {}\npostgress: []\n");
    assert_at(&e, "postgress", 2, 1);
    assert_eq!(
        e.message,
        "unknown field `postgress`, expected one of `web`, `defaults`, `postgres`, `pgbouncer`, `redis`, `apps`, `remote_write`"
    );
}

#[test]
fn unknown_nested_field() {
    let e = one_err(
        "postgres:\n  - name: main\n    url: postgresql://u@db/app\n    pasword_file: /x\n",
    );
    assert_at(&e, "postgres[0].pasword_file", 4, 5);
    assert!(
        e.message.starts_with(
            "unknown field `pasword_file`, expected one of `name`, `url`, `password_file`"
        ),
        "{e}"
    );

    let e = one_err("web:\n  basic_auth: { username: a, passwd: b }\n");
    assert_eq!(e.path, "web.basic_auth.passwd");
    assert!(e.message.contains("unknown field `passwd`"), "{e}");

    let e =
        one_err("apps:\n  - name: a\n    probes:\n      - url: http://h/\n        timeout: 1s\n");
    assert_at(&e, "apps[0].probes[0].timeout", 5, 9);
}

#[test]
fn bad_duration_has_file_line_and_column() {
    let yaml = "defaults:\n  interval: 15s\npostgres:\n  - name: main\n    url: postgresql://u@db/app\n\n    interval: 15 parsecs\n";
    let e = one_err(yaml);
    assert_at(&e, "postgres[0].interval", 7, 15);
    assert_eq!(
        e.to_string(),
        "postgres[0].interval: invalid duration `15 parsecs` at config.yaml:7:15; expected e.g. 15s, 1m30s"
    );
}

#[test]
fn bare_number_is_not_a_duration() {
    let e = one_err("defaults: { timeout: 5 }\n");
    assert_eq!(e.path, "defaults.timeout");
    assert!(
        e.message
            .starts_with("invalid duration `5` (a unit is required)"),
        "{e}"
    );
}

#[test]
fn wrong_type() {
    let e = one_err("postgres: {}\n");
    assert_at(&e, "postgres", 1, 11);
    assert_eq!(e.message, "invalid type: map, expected a sequence");

    let e = one_err("web:\n  max_connections: many\n");
    assert_at(&e, "web.max_connections", 2, 20);
    assert!(e.message.starts_with("invalid number `many`"), "{e}");
}

#[test]
fn yaml_syntax_error_is_located() {
    // The syntax error wins over the unknown field that precedes it.
    let e = one_err("web:\n  bogus: b\n c: d\n");
    assert_eq!(
        e.to_string(),
        "invalid YAML: did not find expected key at config.yaml:3:2"
    );
    let e = one_err("web: {}\nweb: {}\n");
    assert_at(&e, "", 1, 1);
    assert_eq!(e.message, "duplicate entry with key \"web\"");
}

#[test]
fn missing_required_field() {
    let e = one_err("redis:\n  - url: redis://h\n");
    assert_at(&e, "redis[0]", 2, 5);
    assert_eq!(e.message, "missing field `name`");
}

#[test]
fn empty_file() {
    for text in ["", "\n\n", "# only a comment\n"] {
        let e = one_err(text);
        assert_eq!(e.message, "config file is empty");
        assert_eq!(e.to_string(), "config.yaml: config file is empty");
    }
}

#[test]
fn metrics_url_one_or_many() {
    let c = ok("apps:\n  - name: api\n    metrics_url: http://h:8000/metrics\n");
    let app = &c.apps[0];
    assert_eq!(app.metrics.len(), 1);
    assert_eq!(app.metrics[0].url.expose(), "http://h:8000/metrics");
    // One endpoint: no `target` label, so series look as they do at the app.
    assert_eq!(app.metrics[0].target_label, None);
    assert_eq!(app.scrape.max_body_size, 16 << 20);
    assert_eq!(app.scrape.sample_limit, 100_000);
    assert_eq!(app.max_redirects, 10);
    assert!(app.probes.is_empty());

    let c = ok("apps:\n  - name: api\n    metrics_url: [http://a:1/metrics, 'http://b:2/m?x=1']\n    scrape: { max_body_size: 2MiB, sample_limit: 0 }\n    max_redirects: 0\n");
    let app = &c.apps[0];
    let labels: Vec<_> = app.metrics.iter().map(|m| m.target_label.clone()).collect();
    assert_eq!(labels, [Some("a:1".to_owned()), Some("b:2".to_owned())]);
    assert_eq!(app.scrape.max_body_size, 2 << 20);
    assert_eq!(app.scrape.sample_limit, 0);
    assert_eq!(app.max_redirects, 0);
    // --check-config prints sizes the way they can be written back.
    let out = c.to_redacted_yaml();
    assert!(out.contains("max_body_size: 2MiB\n"), "{out}");
    assert!(out.contains("- http://b:2/m?x=1\n"), "{out}");

    // Same host:port twice: the whole URL tells them apart.
    let c = ok("apps:\n  - name: api\n    metrics_url: [http://a:1/x, http://a:1/y]\n");
    let labels: Vec<_> = c.apps[0]
        .metrics
        .iter()
        .map(|m| m.target_label.clone())
        .collect();
    assert_eq!(
        labels,
        [
            Some("http://a:1/x".to_owned()),
            Some("http://a:1/y".to_owned())
        ]
    );
}

#[test]
fn metrics_url_errors_are_located() {
    let e = one_err("apps:\n  - name: api\n    metrics_url: ftp://h/metrics\n");
    assert_at(&e, "apps[0].metrics_url", 3, 18);
    assert!(
        e.message
            .starts_with("unsupported scheme `ftp` in metrics URL"),
        "{e}"
    );
    let e = errs("apps:\n  - name: api\n    metrics_url:\n      - http://h/m\n      - 'http://u:sekret@h/m'\n      - not a url\n      - http://h/m\n");
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(
        e[0].starts_with("apps[0].metrics_url[2]: invalid metrics URL `not a url`"),
        "{}",
        e[0]
    );
    assert!(e[0].contains("config.yaml:6:9"), "{}", e[0]);
    assert!(
        e[1].starts_with("apps[0].metrics_url[3]: metrics URL `http://h/m` is listed twice"),
        "{}",
        e[1]
    );
    let e = one_err("apps:\n  - name: api\n    metrics_url: { url: x }\n");
    assert!(e.message.contains("a URL or a list of URLs"), "{e}");
}

#[test]
fn scrape_limits_and_sizes() {
    for (text, bytes) in [
        ("1024", 1024u64),
        ("512KiB", 512 << 10),
        ("10MB", 10_000_000),
        ("1GiB", 1 << 30),
        ("'64 kB'", 64_000),
    ] {
        let c = ok(&format!("apps:\n  - name: api\n    metrics_url: http://h/m\n    scrape: {{ max_body_size: {text} }}\n"));
        assert_eq!(c.apps[0].scrape.max_body_size, bytes, "{text}");
    }
    let e = one_err("apps:\n  - name: api\n    metrics_url: http://h/m\n    scrape: { max_body_size: 12 parsecs }\n");
    assert_at(&e, "apps[0].scrape.max_body_size", 4, 30);
    assert!(
        e.message
            .starts_with("invalid size `12 parsecs`; expected a number of bytes or e.g. 512KiB"),
        "{e}"
    );
    let e = one_err(
        "apps:\n  - name: api\n    metrics_url: http://h/m\n    scrape: { max_body_size: 100 }\n",
    );
    assert!(e.message.contains("too small"), "{e}");
    let e = one_err(
        "apps:\n  - name: api\n    metrics_url: http://h/m\n    scrape: { sample_limit: -1 }\n",
    );
    assert_eq!(e.path, "apps[0].scrape.sample_limit");
    let e = one_err(
        "apps:\n  - name: api\n    metrics_url: http://h/m\n    scrape: { body_limit: 1 }\n",
    );
    assert!(
        e.message
            .starts_with("unknown field `body_limit`, expected `max_body_size` or `sample_limit`"),
        "{e}"
    );
    let e = one_err("apps:\n  - name: api\n    metrics_url: http://h/m\n    max_redirects: 31\n");
    assert_at(&e, "apps[0].max_redirects", 4, 20);
}

#[test]
fn app_auth_and_tls() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "file-token\n").unwrap();
    let c = ok(&format!("apps:\n  - name: api\n    metrics_url: https://h/m\n    bearer_token_file: {}\n    tls: {{ insecure_skip_verify: true }}\n", token.display()));
    let app = &c.apps[0];
    assert!(
        matches!(&app.auth, Some(HttpAuth::Bearer { token }) if token.expose() == "file-token")
    );
    assert!(app.tls.insecure_skip_verify);
    let c = ok("apps:\n  - name: api\n    metrics_url: https://h/m\n    basic_auth: { username: u, password: '${TOKEN}' }\n");
    assert!(
        matches!(&c.apps[0].auth, Some(HttpAuth::Basic { username, password }) if username == "u" && password.expose() == "tok-secret-3")
    );
    let e = one_err("apps:\n  - name: api\n    metrics_url: https://h/m\n    basic_auth: { username: u, password: p }\n    bearer_token: t\n");
    assert_at(&e, "apps[0].bearer_token", 5, 19);
    assert!(e.message.contains("mutually exclusive"), "{e}");
    let e = one_err("apps:\n  - name: api\n    metrics_url: https://h/m\n    tls: { ca_file: /nonexistent/ca.pem }\n");
    assert_at(&e, "apps[0].tls.ca_file", 4, 21);
    assert!(e.message.contains("/nonexistent/ca.pem"), "{e}");
    let e = errs("apps:\n  - name: api\n    metrics_url: https://h/m\n    tls: { cert_file: /nonexistent/c.pem }\n");
    assert!(
        e[0].starts_with(
            "apps[0].tls.cert_file: cannot read client certificate file `/nonexistent/c.pem`"
        ),
        "{e:?}"
    );
    assert!(
        e[1].starts_with("apps[0].tls.cert_file: tls.cert_file needs tls.key_file"),
        "{e:?}"
    );
}

/// An app with a metrics URL whose entry continues with `rest` (from line 4).
fn app_with(rest: &str) -> String {
    format!("apps:\n  - name: api\n    metrics_url: http://h/metrics\n{rest}")
}

#[test]
fn signals_default_to_detection() {
    let c = ok(&app_with(""));
    let s = &c.apps[0].signals;
    assert!(s.detect);
    assert!(s.latency.histogram.is_none() && s.queues.is_empty() && s.gauges.is_empty());
    assert_eq!(s.latency.threshold, Duration::from_millis(50));
    // The exporter's own request to the app, left out of its traffic.
    assert_eq!(s.own_requests.paths, ["/metrics"]);
    assert!(s.requests.counter.is_none() && s.requests.status_label.is_none());
    assert_eq!(s.requests.errors.pattern, "5..");
    assert!(s.requests.errors.is_match("503") && !s.requests.errors.is_match("1503"));
    let out = c.to_redacted_yaml();
    assert!(
        out.contains("  signals:\n    latency:\n      threshold: 50ms\n    requests:\n      errors: 5..\n    own_request_paths:\n    - /metrics\n    detect: true\n"),
        "{out}"
    );
    // An app with probes only has no signals to show.
    let c = ok("apps:\n  - name: api\n    probes: [ { url: http://h/health } ]\n");
    assert!(!c.to_redacted_yaml().contains("signals"));
}

#[test]
fn signals_block() {
    let c = ok(&app_with(
        r#"    signals:
      latency: { histogram: synckairos_http_request_duration_ms, unit: ms }
      requests: { counter: http_requests, status_label: status, errors: '5..|429' }
      queues:
        - { gauge: jobs_waiting, queue_label: queue }
        - { gauge: email_backlog, queue: emails, state: delayed }
      detect: false
"#,
    ));
    let s = &c.apps[0].signals;
    assert_eq!(
        s.latency,
        LatencySignal {
            histogram: Some("synckairos_http_request_duration_ms".into()),
            unit: Some(TimeUnit::Milliseconds),
            threshold: Duration::from_millis(50),
        }
    );
    assert_eq!(s.requests.counter.as_deref(), Some("http_requests"));
    assert_eq!(s.requests.status_label.as_deref(), Some("status"));
    assert!(s.requests.errors.is_match("429") && !s.requests.errors.is_match("404"));
    assert_eq!(
        s.queues,
        [
            QueueSignal {
                gauge: "jobs_waiting".into(),
                queue: QueueName::Label("queue".into()),
                state: "waiting".into(),
            },
            QueueSignal {
                gauge: "email_backlog".into(),
                queue: QueueName::Fixed("emails".into()),
                state: "delayed".into(),
            },
        ]
    );
    assert!(!s.detect);
    let out = c.to_redacted_yaml();
    assert!(
        out.contains(
            "  signals:\n    latency:\n      histogram: synckairos_http_request_duration_ms\n      unit: ms\n      threshold: 50ms\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("    - gauge: email_backlog\n      queue: emails\n      state: delayed\n"),
        "{out}"
    );
    // `${VAR}` works in signals like everywhere else; an empty block is the default.
    let c = ok(&app_with("    signals: { detect: '${DETECT:-false}' }\n"));
    assert!(!c.apps[0].signals.detect);
    let c = ok(&app_with("    signals:\n"));
    assert!(c.apps[0].signals.detect);
}

#[test]
fn signals_threshold_gauges_and_own_requests() {
    let c = ok(
        "apps:\n  - name: api\n    metrics_url: [http://app:8000/metrics, http://app:9100/internal/metrics]\n\
         \x20   probes:\n\
         \x20     - { url: http://app:8000/health/ }\n\
         \x20     - { url: 'http://app:8000/metrics?probe=1' }\n\
         \x20     - { url: https://payments.example.com/health }\n\
         \x20   signals:\n\
         \x20     latency: { threshold: 250ms }\n\
         \x20     exclude_routes: [ app.views.ping, /internal/ping, app.views.ping ]\n\
         \x20     gauges:\n\
         \x20       - { gauge: app_active_sessions, name: active_sessions }\n\
         \x20       - { gauge: ws_connections }\n"
    );
    let s = &c.apps[0].signals;
    assert_eq!(s.latency.threshold, Duration::from_millis(250));
    assert!(s.latency.histogram.is_none() && s.detect);
    // Every metrics URL and each probe of the app's own hosts, once; a probe of
    // another host is not a request to this app.
    assert_eq!(
        s.own_requests.paths,
        ["/metrics", "/internal/metrics", "/health/"]
    );
    assert_eq!(s.own_requests.routes, ["app.views.ping", "/internal/ping"]);
    let gauges: Vec<(&str, &str)> = (s.gauges.iter())
        .map(|g| (g.gauge.as_str(), g.name.as_str()))
        .collect();
    assert_eq!(
        gauges,
        [
            ("app_active_sessions", "active_sessions"),
            ("ws_connections", "ws_connections")
        ]
    );
    let out = c.to_redacted_yaml();
    for part in [
        "    latency:\n      threshold: 250ms\n",
        "    gauges:\n    - gauge: app_active_sessions\n      name: active_sessions\n",
        "    exclude_routes:\n    - app.views.ping\n    - /internal/ping\n",
        "    own_request_paths:\n    - /metrics\n    - /internal/metrics\n    - /health/\n",
    ] {
        assert!(out.contains(part), "{part:?} not in:\n{out}");
    }

    let e = errs(&app_with(
        "    signals:\n      latency: { threshold: 0s }\n      exclude_routes: [ '' ]\n      gauges:\n        - { gauge: a_b }\n        - { gauge: c, name: a_b }\n        - { gauge: 'x-y' }\n        - { gauge: d, name: '' }\n",
    ));
    assert_eq!(
        e,
        [
            "apps[0].signals.latency.threshold: latency threshold 0s is out of range at config.yaml:5:29; expected more than 0 and at most 10m, e.g. 50ms",
            "apps[0].signals.gauges[1]: gauge name `a_b` is already used by `a_b` at config.yaml:9:11; give each entry a distinct `name` (their series would be one)",
            "apps[0].signals.gauges[2].gauge: invalid gauge name `x-y` at config.yaml:10:20; expected a metric name, [a-zA-Z_:][a-zA-Z0-9_:]*",
            "apps[0].signals.gauges[3].name: name must not be empty at config.yaml:11:29; it is the `gauge` label of stack_app_gauge, e.g. active_sessions",
            "apps[0].signals.exclude_routes[0]: route must not be empty at config.yaml:6:25; expected a value of the app's route label (handler, route, path, view, …), e.g. `/internal/ping`",
        ]
    );
    let e = one_err(&app_with(
        "    signals:\n      latency: { threshold: 50 }\n",
    ));
    assert_at(&e, "apps[0].signals.latency.threshold", 5, 29);
}

#[test]
fn signals_errors_are_located() {
    let e = one_err(&app_with(
        "    signals:\n      latency: { histogram: x_ms, unit: minutes }\n",
    ));
    assert_at(&e, "apps[0].signals.latency.unit", 5, 41);
    assert!(e.message.contains("expected s, ms or us"), "{e}");
    let e = one_err(&app_with(
        "    signals:\n      latency: { histogram: 'http-latency' }\n",
    ));
    assert_at(&e, "apps[0].signals.latency.histogram", 5, 29);
    assert!(
        e.message
            .starts_with("invalid histogram name `http-latency`"),
        "{e}"
    );
    let e = one_err(&app_with(
        "    signals:\n      latency: { histogram: x_seconds_bucket }\n",
    ));
    assert!(
        e.message.contains("name the histogram family, `x_seconds`"),
        "{e}"
    );
    let e = one_err(&app_with(
        "    signals:\n      requests: { errors: '5[0-9' }\n",
    ));
    assert_at(&e, "apps[0].signals.requests.errors", 5, 27);
    assert!(e.message.starts_with("invalid regular expression"), "{e}");
    let e = one_err(&app_with(
        "    signals:\n      requests: { status_label: 'http.status' }\n",
    ));
    assert_at(&e, "apps[0].signals.requests.status_label", 5, 33);
    let e = one_err(&app_with(
        "    signals:\n      requests: { counter: '9lives' }\n",
    ));
    assert_at(&e, "apps[0].signals.requests.counter", 5, 28);
    let e = one_err(&app_with("    signals:\n      latency: { unit: ms }\n"));
    assert_at(&e, "apps[0].signals.latency.unit", 5, 24);
    assert!(
        e.message
            .starts_with("`unit` is the unit of a configured `histogram`, and none is set"),
        "{e}"
    );
    let e = one_err(&app_with(
        "    signals:\n      requests: { counter: x, code: y }\n",
    ));
    assert!(e.message.contains("unknown field `code`"), "{e}");

    let e = errs(&app_with(
        "    signals:\n      queues:\n        - { gauge: a }\n        - { gauge: b, queue: x, queue_label: q }\n        - { gauge: a, queue: '', state: '' }\n",
    ));
    assert_eq!(
        e,
        [
            "apps[0].signals.queues[0]: one of `queue_label` (a label of the gauge naming the queue) or `queue` (a fixed name) is required at config.yaml:6:11",
            "apps[0].signals.queues[1].queue: set `queue_label` (a label of the gauge naming the queue) or `queue` (a fixed name), not both at config.yaml:7:30",
            "apps[0].signals.queues[2].queue: queue name must not be empty at config.yaml:8:30",
            "apps[0].signals.queues[2].state: state must not be empty at config.yaml:8:41",
        ]
    );
    let e = one_err(&app_with(
        "    signals:\n      queues:\n        - { gauge: a, queue: x }\n        - { gauge: a, queue_label: q }\n",
    ));
    assert_at(&e, "apps[0].signals.queues[1].gauge", 7, 20);
    assert!(e.message.contains("listed twice"), "{e}");

    let e = one_err("apps:\n  - name: api\n    probes: [ { url: http://h/health } ]\n    signals: { detect: true }\n");
    assert_at(&e, "apps[0].signals", 4, 14);
    assert!(e.message.contains("no `metrics_url`"), "{e}");
}

#[test]
fn probe_checks() {
    let c = ok(r#"apps:
  - name: api
    probes:
      - url: http://h/health
        method: POST
        body: '{"ping":1}'
        body_regex: '"status":\s*"(healthy|ok)"'
        body_not_regex: maintenance
        json:
          - { pointer: /status, equals: healthy }
          - { pointer: /ready, equals: true }
        json_services: { pointer: /services, latency_unit: s, up_values: [up, green] }
        json_values:
          - { pointer: /queue/depth, metric: app_queue_depth }
          - { pointer: /uptime_ms, metric: app_uptime_seconds, scale: 0.001, help: Uptime. }
"#);
    let p = &c.apps[0].probes[0];
    assert_eq!(p.body.as_deref(), Some("{\"ping\":1}"));
    assert!(p
        .body_regex
        .as_ref()
        .unwrap()
        .0
        .is_match(b"{\"status\": \"ok\"}"));
    assert_eq!(p.json_checks.len(), 2);
    assert_eq!(p.json_checks[1].equals, "true");
    let s = p.json_services.as_ref().unwrap();
    assert_eq!(
        (
            s.status_field.as_str(),
            s.latency_field.as_deref(),
            s.latency_scale
        ),
        ("status", Some("latency"), 1.0)
    );
    assert_eq!(s.up_values, ["up", "green"]);
    assert_eq!(p.json_values[1].scale, 0.001);
    assert_eq!(p.json_values[1].help, "Uptime.");
    assert!(
        p.json_values[0].help.contains("/queue/depth"),
        "{}",
        p.json_values[0].help
    );
    let out = c.to_redacted_yaml();
    assert!(out.contains("body_regex:"), "{out}");
    assert!(out.contains("metric: app_queue_depth"), "{out}");

    let e = errs(
        r#"apps:
  - name: api
    probes:
      - url: http://h/health
        body_regex: '(unclosed'
        json:
          - { pointer: status, equals: ok }
        json_services: { pointer: /s, latency_unit: fortnights }
        json_values:
          - { pointer: /a, metric: 'bad-name' }
          - { pointer: /b, metric: probe_success }
          - { pointer: /c, metric: ok_one }
          - { pointer: /d, metric: ok_one }
"#,
    );
    assert_eq!(e.len(), 6, "{e:#?}");
    assert!(
        e[0].starts_with("apps[0].probes[0].body_regex: invalid regular expression"),
        "{}",
        e[0]
    );
    assert!(e[0].contains("config.yaml:5:21"), "{}", e[0]);
    assert!(
        e[1].starts_with("apps[0].probes[0].json[0].pointer: invalid JSON pointer `status`"),
        "{}",
        e[1]
    );
    assert!(
        e[2].starts_with(
            "apps[0].probes[0].json_services.latency_unit: unknown latency unit `fortnights`"
        ),
        "{}",
        e[2]
    );
    assert!(
        e[3].starts_with("apps[0].probes[0].json_values[0].metric: invalid metric name `bad-name`"),
        "{}",
        e[3]
    );
    assert!(
        e[4].starts_with("apps[0].probes[0].json_values[1].metric: metric `probe_success`"),
        "{}",
        e[4]
    );
    assert!(
        e[5].starts_with(
            "apps[0].probes[0].json_values[3].metric: metric `ok_one` is extracted twice"
        ),
        "{}",
        e[5]
    );
}

// ---------------------------------------------------------------- interpolation

#[test]
fn unset_variable_without_default() {
    let e = one_err("redis:\n  - name: c\n    url: ${REDIS_URL}\n");
    assert_at(&e, "redis[0].url", 3, 10);
    assert_eq!(
        e.to_string(),
        "redis[0].url: environment variable `REDIS_URL` is not set at config.yaml:3:10; set it or give a default: `${REDIS_URL:-default}`"
    );
}

#[test]
fn defaults_and_variables_are_used() {
    let c = ok("redis:\n  - name: c\n    url: ${REDIS_URL:-redis://127.0.0.1:6380/2}\n    labels: { env: \"${DEPLOY_ENV:-dev}\" }\npostgres:\n  - name: p\n    url: ${DB_PASS_URL}\n");
    assert_eq!(c.redis[0].url.expose(), "redis://127.0.0.1:6380/2");
    assert_eq!(c.redis[0].common.labels["env"], "dev");
    assert_eq!(
        c.postgres[0].url.expose(),
        "postgresql://app:pgpass-1@db:5432/app"
    );
    assert_eq!(
        c.postgres[0].display_url,
        "postgresql://app:***@db:5432/app"
    );
}

#[test]
fn double_dollar_is_a_literal_dollar() {
    let c = ok("web:\n  basic_auth: { username: prom, password: \"pa$$word$${TOKEN}\" }\n");
    match &c.web.auth {
        Some(HttpAuth::Basic { username, password }) => {
            assert_eq!(username, "prom");
            assert_eq!(password.expose(), "pa$word${TOKEN}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn interpolation_in_durations_and_numbers() {
    let c = ok(&format!(
        "web:\n  max_connections: ${{MAXC:-7}}\n  header_read_timeout: ${{HRT:-3s}}\ndefaults:\n  interval: ${{POLL}}\n  timeout: ${{TO:-10s}}\n{PG}"
    ));
    assert_eq!(c.web.max_connections, 7);
    assert_eq!(c.web.header_read_timeout, Duration::from_secs(3));
    assert_eq!(c.postgres[0].common.interval, Duration::from_secs(30));
    assert_eq!(c.postgres[0].common.timeout, Duration::from_secs(10));
    // The interpolated values take part in validation like literal ones.
    let e = one_err("defaults:\n  interval: ${POLL}\n  timeout: ${TO:-1m}\n");
    assert_at(&e, "defaults.timeout", 3, 12);
    assert!(
        e.message
            .starts_with("timeout 1m is longer than interval 30s"),
        "{e}"
    );
    let e = one_err("defaults:\n  interval: ${POLL:-x}\n  timeout: ${TO:-soon}\n");
    assert_at(&e, "defaults.timeout", 3, 12);
    assert!(e.message.starts_with("invalid duration `soon`"), "{e}");
}

#[test]
fn hash_and_colon_inside_interpolated_values_are_kept() {
    let c = ok(&format!(
        "{PG}    labels:\n      note: \"${{HASHY}}\"\n      other: x\n"
    ));
    assert_eq!(c.postgres[0].common.labels["note"], "a#b: c");
    assert_eq!(c.postgres[0].common.labels["other"], "x");
}

#[test]
fn listen_address_forms() {
    let c = ok("web: { listen_address: \":9100\" }\n");
    assert_eq!(c.web.listen_address.to_string(), "0.0.0.0:9100");
    let c = ok("web: { listen_address: \"[::1]:9100\" }\n");
    assert_eq!(c.web.listen_address.to_string(), "[::1]:9100");
    let e = one_err("web:\n  listen_address: localhost:9100\n");
    assert_at(&e, "web.listen_address", 2, 19);
    assert!(
        e.message
            .starts_with("invalid listen address `localhost:9100`"),
        "{e}"
    );
}

// ---------------------------------------------------------------- validation

#[test]
fn defaults_are_applied() {
    let c = ok(PG);
    assert_eq!(c.origin, ConfigOrigin::File(PathBuf::from(FILE)));
    assert_eq!(c.web.listen_address.to_string(), "0.0.0.0:9650");
    assert_eq!(c.web.max_connections, 64);
    assert_eq!(c.web.header_read_timeout, Duration::from_secs(10));
    assert!(c.web.auth.is_none());
    assert_eq!(c.postgres[0].common.interval, Duration::from_secs(15));
    assert_eq!(c.postgres[0].common.timeout, Duration::from_secs(5));
}

#[test]
fn duplicate_names_across_kinds_all_reported() {
    let yaml = "\
postgres:
  - name: main
    url: postgresql://u@db/app
redis:
  - name: main
    url: redis://h
apps:
  - name: main
    probes: [{ url: 'http://h/' }]
";
    let e = errs(yaml);
    assert_eq!(
        e,
        vec![
            "redis[0].name: duplicate source name `main`, already used by postgres[0] at config.yaml:5:11; source names must be unique across postgres, pgbouncer, redis and apps",
            "apps[0].name: duplicate source name `main`, already used by postgres[0] at config.yaml:8:11; source names must be unique across postgres, pgbouncer, redis and apps",
        ]
    );
}

#[test]
fn invalid_source_name() {
    let e = one_err("redis:\n  - name: 'has space'\n    url: redis://h\n");
    assert_at(&e, "redis[0].name", 2, 11);
    assert!(
        e.message.starts_with("invalid source name `has space`"),
        "{e}"
    );
}

#[test]
fn timing_rules() {
    let e = one_err(&format!("{PG}    timeout: 20s\n"));
    assert_at(&e, "postgres[0].timeout", 4, 14);
    assert!(
        e.message
            .starts_with("timeout 20s is longer than interval 15s (interval from defaults)"),
        "{e}"
    );
    let e = one_err("defaults: { interval: 10s, timeout: 11s }\n");
    assert_eq!(e.path, "defaults.timeout");
    let e = one_err(&format!("{PG}    interval: 500ms\n    timeout: 100ms\n"));
    assert_eq!(e.path, "postgres[0].interval");
    assert!(e.message.contains("minimum is 1s"), "{e}");
    let e = one_err(&format!("{PG}    timeout: 0s\n"));
    assert_eq!(e.message, "timeout must be greater than 0");
}

#[test]
fn label_rules() {
    let yaml = format!("{PG}    labels:\n      ok_label: x\n      1bad: x\n      __meta: x\n      source: x\n      job: x\n      instance: x\n");
    let e = load(&yaml).unwrap_err();
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "postgres[0].labels.1bad",
            "postgres[0].labels.__meta",
            "postgres[0].labels.instance",
            "postgres[0].labels.job",
            "postgres[0].labels.source",
        ]
    );
    assert!(
        e[0].message.starts_with("invalid label name `1bad`"),
        "{}",
        e[0]
    );
    assert_eq!(e[0].line, Some(6));
    assert!(e[2].message.contains("set by Prometheus"), "{}", e[2]);
    assert!(
        e[3].message.starts_with("label `job` is set by Prometheus"),
        "{}",
        e[3]
    );
    assert!(
        e[4].message.starts_with("label `source` is reserved"),
        "{}",
        e[4]
    );
}

#[test]
fn bad_urls_for_each_kind() {
    let yaml = "\
postgres:
  - name: a
    url: mysql://u:pw@h/db
  - name: b
    url: 'not a url'
redis:
  - name: c
    url: http://h:6379
  - name: d
    url: 'redis://'
  - name: e
    url: valkeys://h:6380
apps:
  - name: f
    probes:
      - url: ftp://h/x
      - url: http://ok/
        name: second
";
    let e = load(yaml).unwrap_err();
    let got: Vec<(&str, Option<usize>)> = e.iter().map(|e| (e.path.as_str(), e.line)).collect();
    assert_eq!(
        got,
        [
            ("postgres[0].url", Some(3)),
            ("postgres[1].url", Some(5)),
            ("redis[0].url", Some(8)),
            ("redis[1].url", Some(10)),
            ("apps[0].probes[0].url", Some(16)),
        ]
    );
    assert!(
        e[0].message
            .starts_with("unsupported scheme `mysql` in PostgreSQL URL `mysql://u:***@h/db`"),
        "{}",
        e[0]
    );
    assert!(
        e[1].message
            .starts_with("invalid PostgreSQL URL `not a url`"),
        "{}",
        e[1]
    );
    assert!(
        e[2].message
            .starts_with("unsupported scheme `http` in Redis URL"),
        "{}",
        e[2]
    );
    assert!(
        e[3].message.contains("has no host") || e[3].message.contains("invalid Redis URL"),
        "{}",
        e[3]
    );
    assert!(
        e[4].message
            .starts_with("unsupported scheme `ftp` in probe URL"),
        "{}",
        e[4]
    );
    let all = e
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!all.contains(":pw@"), "{all}");
}

#[test]
fn postgres_url_must_satisfy_the_driver() {
    let e = one_err("postgres:\n  - name: a\n    url: postgresql://u@h/db?sslmode=sometimes\n");
    assert_eq!(e.path, "postgres[0].url");
    assert!(e.message.starts_with("invalid PostgreSQL URL"), "{e}");
}

#[test]
fn app_needs_metrics_url_or_probes() {
    let e = one_err("apps:\n  - name: api\n");
    assert_at(&e, "apps[0].name", 2, 11);
    assert_eq!(
        e.message,
        "an app needs at least one `metrics_url` or one probe"
    );
    let e = one_err("apps:\n  - name: api\n    probes: []\n");
    assert_at(&e, "apps[0].probes", 3, 13);
}

#[test]
fn probe_fields() {
    let c = ok("apps:\n  - name: api\n    probes:\n      - url: http://u:pw@h/x\n      - url: https://h/y\n        name: y\n        method: head\n        headers: { X-B: '2', X-A: '1' }\n        expected_status: [200, 301]\n");
    let p = &c.apps[0].probes;
    assert_eq!(p[0].name, "http://u:***@h/x");
    assert_eq!(p[0].method, "GET");
    assert!(p[0].expected_status.is_empty());
    assert_eq!(p[1].method, "HEAD");
    let names: Vec<&str> = p[1].headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["X-B", "X-A"]);
    assert_eq!(p[1].headers[1].1.expose(), "1");
    assert_eq!(p[1].expected_status, [200, 301]);

    let e = errs("apps:\n  - name: api\n    probes:\n      - url: http://h/\n        method: FETCH\n        expected_status: [99, 600, 200]\n      - url: http://h/\n");
    assert_eq!(e.len(), 4, "{e:#?}");
    assert!(
        e[0].starts_with(
            "apps[0].probes[0].method: unsupported method `FETCH` at config.yaml:5:17"
        ),
        "{}",
        e[0]
    );
    assert!(e[1].starts_with("apps[0].probes[0].expected_status[0]: status code 99 is out of range at config.yaml:6:27"), "{}", e[1]);
    assert!(
        e[2].starts_with("apps[0].probes[0].expected_status[1]: status code 600"),
        "{}",
        e[2]
    );
    assert!(e[3].starts_with("apps[0].probes[1].url: duplicate probe name `http://h/` in this app at config.yaml:7:14"), "{}", e[3]);
}

#[test]
fn web_auth_exclusivity() {
    let e = one_err("web:\n  basic_auth: { username: u, password: p }\n  bearer_token: t\n");
    assert_eq!(e.path, "web.bearer_token");
    assert!(
        e.message
            .starts_with("basic_auth and bearer_token are mutually exclusive"),
        "{e}"
    );
    assert_eq!(e.line, Some(3));

    let e = one_err("web:\n  bearer_token: t\n  bearer_token_file: /x\n");
    assert_eq!(e.path, "web.bearer_token_file");
    assert_eq!(
        e.message,
        "set either `bearer_token` or `bearer_token_file`, not both"
    );

    let e = one_err("web:\n  basic_auth: { username: u }\n");
    assert_eq!(e.path, "web.basic_auth");
    assert_eq!(e.message, "basic_auth needs `password` or `password_file`");

    let e = one_err("web:\n  bearer_token: \"${EMPTY:-}\"\n");
    assert_eq!(e.message, "the bearer token is empty");

    let c = ok("web:\n  bearer_token: ${TOKEN}\n");
    match &c.web.auth {
        Some(HttpAuth::Bearer { token }) => assert_eq!(token.expose(), "tok-secret-3"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_password_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let yaml = format!(
        "postgres:\n  - name: a\n    url: postgresql://u@h/db\n    password_file: {}\n",
        missing.display()
    );
    let e = one_err(&yaml);
    assert_at(&e, "postgres[0].password_file", 4, 20);
    assert!(
        e.message
            .starts_with(&format!("cannot read secret file `{}`", missing.display())),
        "{e}"
    );
    let yaml = format!("web:\n  bearer_token_file: {}\n", missing.display());
    assert_eq!(one_err(&yaml).path, "web.bearer_token_file");
}

#[test]
fn password_files_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, content: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    };
    write("pg", "p@ss/w:rd\n");
    write("redis", "r3dis-secret\r\n");
    write("web", "webpass\n\n");
    let cfg_path = write(
        "stack_exporter.yml",
        "web:\n  basic_auth: { username: prom, password_file: web }\npostgres:\n  - name: a\n    url: postgresql://app:old@db:5432/app\n    password_file: pg\nredis:\n  - name: r\n    url: redis://cache:6379\n    password_file: redis\n",
    );
    let c = load_file(&cfg_path, &Env::empty()).unwrap();
    assert_eq!(c.origin, ConfigOrigin::File(cfg_path.clone()));
    assert_eq!(
        c.postgres[0].url.expose(),
        "postgresql://app:p%40ss%2Fw%3Ard@db:5432/app"
    );
    assert_eq!(
        c.postgres[0].display_url,
        "postgresql://app:***@db:5432/app"
    );
    assert_eq!(c.redis[0].url.expose(), "redis://:r3dis-secret@cache:6379");
    match &c.web.auth {
        // Only one trailing newline is stripped.
        Some(HttpAuth::Basic { password, .. }) => assert_eq!(password.expose(), "webpass\n"),
        other => panic!("{other:?}"),
    }
    let secrets = c.secret_values();
    assert!(secrets.contains(&"p@ss/w:rd".to_owned()), "{secrets:?}");
    assert!(secrets.contains(&"r3dis-secret".to_owned()), "{secrets:?}");
}

#[test]
fn missing_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.yml");
    let e = load_file(&path, &Env::empty()).unwrap_err();
    assert_eq!(e.len(), 1);
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("{}: cannot read config file: ", path.display())),
        "{text}"
    );
}

#[test]
fn parse_errors_stop_validation_errors_collect() {
    // Two unknown fields: only the first is reported.
    assert_eq!(errs("a: 1\nb: 2\n").len(), 1);
    // Three independent validation problems: all reported.
    let e = errs("web: { max_connections: 0 }\ndefaults: { interval: 100ms, timeout: 50ms }\napps:\n  - name: x\n");
    assert_eq!(e.len(), 3, "{e:#?}");
}

// ---------------------------------------------------------------- shipped example, defaults

#[test]
fn shipped_example_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/stack_exporter.yml");
    let c = load_file(&path, &Env::empty()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.postgres[0].common.name, "main");
    assert_eq!(
        c.postgres[0].url.expose(),
        "postgresql://postgres@127.0.0.1:5432/postgres"
    );
    assert_eq!(c.redis[0].url.expose(), "redis://127.0.0.1:6379");
    assert_eq!(c.pgbouncer[0].common.name, "pooler");
    assert_eq!(
        c.pgbouncer[0].url.expose(),
        "postgresql://stats_user@127.0.0.1:6432/pgbouncer"
    );
    assert_eq!(c.apps[0].probes[0].name, "health");
    assert_eq!(c.apps[0].probes[0].expected_status, [200, 204]);
    assert!(c.apps[0].signals.detect && c.apps[0].signals.latency.histogram.is_none());
    assert_eq!(
        c.apps[0].signals.latency.threshold,
        Duration::from_millis(50),
        "the documented threshold is the default"
    );
    assert_eq!(c.web.listen_address.to_string(), "0.0.0.0:9650");
    let rw = &c.remote_write[0];
    assert_eq!(rw.name, "prometheus");
    assert_eq!(rw.url.expose(), "http://127.0.0.1:9090/api/v1/write");
    assert_eq!(rw.headers[0].0, "X-Scope-OrgID");
    assert_eq!(rw.external_labels["job"], "stack_exporter");
    assert_eq!(rw.external_labels["environment"], "production");
    assert_eq!(
        (rw.timeout, rw.max_samples_per_request, rw.queue_capacity),
        (Duration::from_secs(30), 2000, 100_000),
        "the documented values are the defaults"
    );
    assert_eq!(rw.interval, None);
    // The documented collector values are the defaults, and the example query loads.
    assert_eq!(c.postgres[0].collectors, PostgresCollectors::default());
    let q = &c.postgres[0].custom_queries;
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].name, "app_db_clients");
    assert_eq!(q[0].labels, ["application"]);
    let columns: Vec<&str> = q[0].values.iter().map(|v| v.column.as_str()).collect();
    assert_eq!(columns, ["connections", "oldest_seconds"]);
    assert_eq!(q[0].interval, Some(Duration::from_secs(60)));
    assert_eq!(q[0].timeout, Duration::from_secs(2));

    // And it follows the environment.
    let env = Env::from_map([
        ("DATABASE_URL", "postgres://x:y@pg:5433/z"),
        ("POLL_INTERVAL", "1m"),
    ]);
    let c = load_file(&path, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.postgres[0].url.expose(), "postgres://x:y@pg:5433/z");
    assert_eq!(c.redis[0].common.interval, Duration::from_secs(60));
}

#[test]
fn builtin_default_with_and_without_env() {
    let c = builtin_default(&Env::empty()).unwrap();
    assert_eq!(c.origin, ConfigOrigin::BuiltinDefault);
    assert_eq!(
        c.postgres[0].url.expose(),
        "postgresql://postgres@127.0.0.1:5432/postgres"
    );
    assert_eq!(c.redis[0].url.expose(), "redis://127.0.0.1:6379");

    let env = Env::from_map([
        ("DATABASE_URL", "postgresql://a:b@pg/db"),
        ("REDIS_URL", "redis://r:1"),
    ]);
    let c = builtin_default(&env).unwrap();
    assert_eq!(c.postgres[0].display_url, "postgresql://a:***@pg/db");
    assert_eq!(c.redis[0].url.expose(), "redis://r:1");

    let e = builtin_default(&Env::from_map([("DATABASE_URL", "nonsense")])).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("$DATABASE_URL: invalid PostgreSQL URL"),
        "{e}"
    );
}

// ---------------------------------------------------------------- redaction

#[test]
fn no_secret_in_debug_or_redacted_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let pw_file = dir.path().join("pg");
    let mut f = std::fs::File::create(&pw_file).unwrap();
    writeln!(f, "filepass-4").unwrap();
    let secrets = [
        "pgpass-1",
        "redispass-2",
        "tok-secret-3",
        "filepass-4",
        "basicpass-5",
        "hdr-secret-6",
        "probepass-7",
        "scrapepass-8",
        "appbasic-9",
    ];

    let with_basic = format!(
        "web:\n  basic_auth: {{ username: prom, password: basicpass-5 }}\npostgres:\n  - name: a\n    url: ${{DB_PASS_URL}}\n  - name: b\n    url: postgresql://u@h/db\n    password_file: {}\nredis:\n  - name: r\n    url: 'redis://:redispass-2@cache:6379'\napps:\n  - name: api\n    probes:\n      - url: http://u:probepass-7@h/health\n        headers: {{ Authorization: 'Bearer hdr-secret-6' }}\n    metrics_url: 'http://m:scrapepass-8@h/metrics'\n    basic_auth: {{ username: app, password: appbasic-9 }}\n",
        pw_file.display()
    );
    let with_bearer = "web:\n  bearer_token: ${TOKEN}\n";
    for yaml in [with_basic.as_str(), with_bearer] {
        let c = ok(yaml);
        let yaml_out = c.to_redacted_yaml();
        let debug = format!("{c:?} {c:#?}");
        for s in secrets {
            assert!(!yaml_out.contains(s), "{s} in:\n{yaml_out}");
            assert!(!debug.contains(s), "{s} in:\n{debug}");
        }
    }

    let c = ok(&with_basic);
    let out = c.to_redacted_yaml();
    assert!(
        out.contains("url: postgresql://app:***@db:5432/app"),
        "{out}"
    );
    assert!(out.contains("password: <redacted>"), "{out}");
    assert!(out.contains("Authorization: <redacted>"), "{out}");
    assert!(out.contains("interval: 15s"), "{out}");
    assert!(out.contains("timeout: 5s"), "{out}");
    assert!(
        out.starts_with("# effective configuration from config.yaml\n"),
        "{out}"
    );
    let c = ok(with_bearer);
    assert!(c.to_redacted_yaml().contains("bearer_token: <redacted>"));
}

#[test]
fn redacted_yaml_of_builtin_default() {
    let c = builtin_default(&Env::empty()).unwrap();
    let out = c.to_redacted_yaml();
    assert!(
        out.starts_with("# effective configuration from built-in default\n"),
        "{out}"
    );
    assert!(out.contains("listen_address: 0.0.0.0:9650"), "{out}");
    assert!(out.contains("header_read_timeout: 10s"), "{out}");
}

// ---------------------------------------------------------------- postgres collectors

/// A config with one postgres source whose entry continues with `rest` (indented four
/// spaces, starting on line 4).
fn pg_with(rest: &str) -> String {
    format!("{PG}{rest}")
}

#[test]
fn collectors_default_when_absent() {
    let c = ok(PG);
    assert_eq!(c.postgres[0].collectors, PostgresCollectors::default());
    assert!(c.postgres[0].custom_queries.is_empty());
    // The documented default: everything on, with the documented option values.
    let d = PostgresCollectors::default();
    assert!(d.database && d.activity && d.locks && d.bgwriter && d.wal);
    assert!(d.replication && d.settings && d.postmaster && d.timescaledb);
    let t = d.user_tables.as_ref().expect("user_tables on by default");
    assert_eq!((t.max_databases, t.max_tables), (10, 200));
    assert!(t.databases.is_empty() && t.exclude_databases.is_empty());
    let s = d.statements.as_ref().expect("statements on by default");
    assert_eq!(
        (s.limit, s.query_text, s.query_text_max_length),
        (100, false, 120)
    );

    // An empty block, a null block and blocks without `enabled` change nothing.
    for rest in [
        "    collectors: {}\n",
        "    collectors:\n",
        "    collectors:\n      wal: {}\n      statements: {}\n      user_tables:\n",
    ] {
        let c = ok(&pg_with(rest));
        assert_eq!(
            c.postgres[0].collectors,
            PostgresCollectors::default(),
            "{rest}"
        );
    }
    let c = builtin_default(&Env::empty()).unwrap();
    assert_eq!(c.postgres[0].collectors, PostgresCollectors::default());
    assert!(c.postgres[0].custom_queries.is_empty());
}

#[test]
fn collectors_can_be_disabled() {
    let c = ok(&pg_with(
        "    collectors:\n      locks: { enabled: false }\n      settings: false\n      user_tables: false\n      statements: { enabled: false, limit: 5 }\n      wal: { enabled: true }\n",
    ));
    let got = &c.postgres[0].collectors;
    let want = PostgresCollectors {
        locks: false,
        settings: false,
        user_tables: None,
        statements: None,
        ..PostgresCollectors::default()
    };
    assert_eq!(got, &want);

    // Every collector by name, one at a time, in both spellings.
    let names = [
        "database",
        "activity",
        "locks",
        "bgwriter",
        "wal",
        "replication",
        "settings",
        "postmaster",
        "user_tables",
        "statements",
        "timescaledb",
    ];
    for name in names {
        for form in ["false", "{ enabled: false }", "\"${OFF:-false}\""] {
            let c = ok(&pg_with(&format!(
                "    collectors:\n      {name}: {form}\n"
            )));
            let got = &c.postgres[0].collectors;
            let on = [
                got.database,
                got.activity,
                got.locks,
                got.bgwriter,
                got.wal,
                got.replication,
                got.settings,
                got.postmaster,
                got.user_tables.is_some(),
                got.statements.is_some(),
                got.timescaledb,
            ];
            let off: Vec<&str> = names
                .iter()
                .zip(on)
                .filter(|(_, on)| !on)
                .map(|(n, _)| *n)
                .collect();
            assert_eq!(off, [name], "{name}: {form}");
        }
    }
}

#[test]
fn collector_options_are_parsed() {
    let c = ok(&pg_with(
        "    collectors:
      user_tables:
        databases: [app, jobs]
        exclude_databases: [postgres]
        max_databases: 3
        max_tables: \"${MAXT:-50}\"
      statements:
        enabled: true
        limit: 1000
        query_text: true
        query_text_max_length: 16
",
    ));
    let cols = &c.postgres[0].collectors;
    assert_eq!(
        cols.user_tables,
        Some(TablesOptions {
            databases: vec!["app".into(), "jobs".into()],
            exclude_databases: vec!["postgres".into()],
            max_databases: 3,
            max_tables: 50,
        })
    );
    assert_eq!(
        cols.statements,
        Some(StatementsOptions {
            limit: 1000,
            query_text: true,
            query_text_max_length: 16,
        })
    );
    // The upper bounds are accepted too.
    let c = ok(&pg_with(
        "    collectors:\n      user_tables: { max_databases: 100, max_tables: 10000 }\n      statements: { limit: 1, query_text_max_length: 4096 }\n",
    ));
    let t = c.postgres[0].collectors.user_tables.as_ref().unwrap();
    assert_eq!((t.max_databases, t.max_tables), (100, 10000));
    let s = c.postgres[0].collectors.statements.as_ref().unwrap();
    assert_eq!((s.limit, s.query_text_max_length), (1, 4096));
}

#[test]
fn collector_range_errors() {
    let yaml = pg_with(
        "    collectors:
      user_tables:
        max_databases: 0
        max_tables: 10001
      statements:
        limit: 1001
        query_text_max_length: 15
",
    );
    let e = load(&yaml).unwrap_err();
    let got: Vec<(&str, Option<usize>, Option<usize>)> = e
        .iter()
        .map(|e| (e.path.as_str(), e.line, e.column))
        .collect();
    assert_eq!(
        got,
        [
            (
                "postgres[0].collectors.user_tables.max_databases",
                Some(6),
                Some(24)
            ),
            (
                "postgres[0].collectors.user_tables.max_tables",
                Some(7),
                Some(21)
            ),
            ("postgres[0].collectors.statements.limit", Some(9), Some(16)),
            (
                "postgres[0].collectors.statements.query_text_max_length",
                Some(10),
                Some(32)
            ),
        ]
    );
    assert_eq!(
        e[0].to_string(),
        "postgres[0].collectors.user_tables.max_databases: max_databases 0 is out of range at config.yaml:6:24; expected 1 to 100 (default 10)"
    );
    assert!(
        e[1].message.ends_with("expected 1 to 10000 (default 200)"),
        "{}",
        e[1]
    );
    assert!(
        e[2].message.ends_with("expected 1 to 1000 (default 100)"),
        "{}",
        e[2]
    );
    assert!(
        e[3].message.ends_with("expected 16 to 4096 (default 120)"),
        "{}",
        e[3]
    );

    // The other ends, and options of a disabled collector are still checked.
    let yaml = pg_with(
        "    collectors:\n      user_tables: { enabled: false, max_databases: 101, max_tables: 0 }\n      statements: { enabled: false, limit: 0, query_text_max_length: 4097 }\n",
    );
    let e = load(&yaml).unwrap_err();
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "postgres[0].collectors.user_tables.max_databases",
            "postgres[0].collectors.user_tables.max_tables",
            "postgres[0].collectors.statements.limit",
            "postgres[0].collectors.statements.query_text_max_length",
        ]
    );
    assert!(
        e[0].message
            .starts_with("max_databases 101 is out of range"),
        "{}",
        e[0]
    );
    assert!(
        e[3].message
            .starts_with("query_text_max_length 4097 is out of range"),
        "{}",
        e[3]
    );
}

#[test]
fn unknown_collector_name() {
    let e = one_err(&pg_with(
        "    collectors:\n      wal: false\n      statments: false\n",
    ));
    assert_at(&e, "postgres[0].collectors.statments", 6, 7);
    assert_eq!(
        e.message,
        "unknown field `statments`, expected one of `database`, `activity`, `locks`, `bgwriter`, `wal`, `replication`, `settings`, `postmaster`, `user_tables`, `statements`, `timescaledb`"
    );
    // Unknown options inside a collector block are rejected the same way.
    let e = one_err(&pg_with("    collectors:\n      statements: { limt: 5 }\n"));
    assert_at(&e, "postgres[0].collectors.statements.limt", 5, 21);
    assert!(
        e.message
            .starts_with("unknown field `limt`, expected one of `enabled`, `limit`"),
        "{e}"
    );
    let e = one_err(&pg_with(
        "    collectors:\n      locks: { max_tables: 5 }\n",
    ));
    assert_eq!(e.path, "postgres[0].collectors.locks.max_tables");
    assert_eq!(e.message, "unknown field `max_tables`, expected `enabled`");
}

#[test]
fn collector_value_types() {
    let e = one_err(&pg_with("    collectors:\n      wal: 3\n"));
    assert_at(&e, "postgres[0].collectors.wal", 5, 12);
    assert_eq!(
        e.message,
        "invalid type: integer `3`, expected true, false or a mapping such as `{ enabled: true }`"
    );
    let e = one_err(&pg_with("    collectors:\n      wal: { enabled: yes }\n"));
    assert_at(&e, "postgres[0].collectors.wal.enabled", 5, 23);
    assert_eq!(
        e.to_string(),
        "postgres[0].collectors.wal.enabled: invalid boolean `yes` at config.yaml:5:23; expected true or false"
    );
    let e = one_err(&pg_with(
        "    collectors:\n      statements: { limit: lots }\n",
    ));
    assert_eq!(e.path, "postgres[0].collectors.statements.limit");
    assert!(e.message.starts_with("invalid number `lots`"), "{e}");
}

#[test]
fn collector_database_lists() {
    let yaml = pg_with(
        "    collectors:\n      user_tables:\n        databases: [app, '', app]\n        exclude_databases: [app]\n",
    );
    let e = load(&yaml).unwrap_err();
    let got: Vec<(&str, Option<usize>)> = e.iter().map(|e| (e.path.as_str(), e.line)).collect();
    assert_eq!(
        got,
        [
            ("postgres[0].collectors.user_tables.databases[1]", Some(6)),
            ("postgres[0].collectors.user_tables.databases[2]", Some(6)),
            (
                "postgres[0].collectors.user_tables.exclude_databases[0]",
                Some(7)
            ),
        ]
    );
    assert_eq!(e[0].message, "database name must not be empty");
    assert!(
        e[1].message.starts_with("database `app` is listed twice"),
        "{}",
        e[1]
    );
    assert!(
        e[2].message
            .starts_with("database `app` is both listed in `databases` and excluded"),
        "{}",
        e[2]
    );
}

// ---------------------------------------------------------------- custom queries

const QUERY: &str = "    custom_queries:
      - name: app_jobs
        help: \"Jobs by state.\"
        sql: \"SELECT state, count(*) AS jobs, max(age) AS oldest_seconds FROM jobs GROUP BY state\"
        labels: [state]
        values:
          - { column: jobs, type: gauge }
          - { column: oldest_seconds, type: gauge, help: \"Age of the oldest job.\" }
";

#[test]
fn custom_query_with_all_fields() {
    let yaml = pg_with(&format!(
        "    interval: 30s\n    timeout: 10s\n{QUERY}        interval: 1m\n        timeout: 2s\n        database: jobs\n      - name: app_done\n        help: Done jobs.\n        sql: SELECT count(*) AS jobs FROM done\n        values: [{{ column: jobs, type: counter }}]\n"
    ));
    let c = ok(&yaml);
    let q = &c.postgres[0].custom_queries;
    assert_eq!(q.len(), 2);
    assert_eq!(
        q[0],
        CustomQuery {
            name: "app_jobs".into(),
            sql: "SELECT state, count(*) AS jobs, max(age) AS oldest_seconds FROM jobs GROUP BY state".into(),
            help: "Jobs by state.".into(),
            labels: vec!["state".into()],
            values: vec![
                CustomValue {
                    column: "jobs".into(),
                    kind: CustomValueKind::Gauge,
                    help: None,
                },
                CustomValue {
                    column: "oldest_seconds".into(),
                    kind: CustomValueKind::Gauge,
                    help: Some("Age of the oldest job.".into()),
                },
            ],
            interval: Some(Duration::from_secs(60)),
            timeout: Duration::from_secs(2),
            database: Some("jobs".into()),
        }
    );
    // Defaults: every poll, the source's timeout, the URL's database, gauge.
    assert_eq!(q[1].interval, None);
    assert_eq!(q[1].timeout, Duration::from_secs(10));
    assert_eq!(q[1].database, None);
    assert!(q[1].labels.is_empty());
    assert_eq!(q[1].values[0].kind, CustomValueKind::Counter);
    // Interval equal to the source's and timeout equal to the source's are fine.
    let c = ok(&pg_with(&format!(
        "{QUERY}        interval: 15s\n        timeout: 5s\n"
    )));
    let q = &c.postgres[0].custom_queries[0];
    assert_eq!(
        (q.interval, q.timeout),
        (Some(Duration::from_secs(15)), Duration::from_secs(5))
    );
    // Value type defaults to gauge.
    let c = ok(&pg_with(
        "    custom_queries:\n      - { name: app_n, help: n, sql: SELECT 1 AS n, values: [{ column: n }] }\n",
    ));
    assert_eq!(
        c.postgres[0].custom_queries[0].values[0].kind,
        CustomValueKind::Gauge
    );
}

/// The single error of `QUERY` with `from` replaced by `to`.
fn query_err(from: &str, to: &str) -> ConfigError {
    assert!(QUERY.contains(from), "{from}");
    one_err(&pg_with(&QUERY.replacen(from, to, 1)))
}

#[test]
fn custom_query_name_errors() {
    let e = query_err("name: app_jobs", "name: app-jobs");
    assert_at(&e, "postgres[0].custom_queries[0].name", 5, 15);
    assert!(
        e.message
            .starts_with("invalid custom query name `app-jobs`; it is the metric name prefix"),
        "{e}"
    );
    let e = query_err("name: app_jobs", "name: '1jobs'");
    assert!(
        e.message.starts_with("invalid custom query name `1jobs`"),
        "{e}"
    );

    let e = query_err("name: app_jobs", "name: pg_jobs");
    assert_at(&e, "postgres[0].custom_queries[0].name", 5, 15);
    assert_eq!(
        e.to_string(),
        "postgres[0].custom_queries[0].name: custom query name `pg_jobs` starts with `pg_` at config.yaml:5:15; the pg_ prefix is reserved for the built-in PostgreSQL collectors, so a custom metric can never clash with (or be mistaken for) one of theirs: choose another prefix, e.g. app_jobs"
    );

    // Unique per source, but the same name may be used by another source.
    let dup = format!("{QUERY}      - {{ name: app_jobs, help: x, sql: SELECT 1 AS n, values: [{{ column: n }}] }}\n");
    let e = one_err(&pg_with(&dup));
    assert_at(&e, "postgres[0].custom_queries[1].name", 12, 17);
    assert!(
        e.message.starts_with(
            "duplicate custom query name `app_jobs`, already used by postgres[0].custom_queries[0]"
        ),
        "{e}"
    );
    let two_sources = format!(
        "{}{QUERY}  - name: other\n    url: postgresql://u@db2/app\n{QUERY}",
        PG
    );
    assert_eq!(
        ok(&two_sources).postgres[1].custom_queries[0].name,
        "app_jobs"
    );
}

#[test]
fn custom_query_required_text() {
    let yaml = pg_with("    custom_queries:\n      - { name: app_n, help: n, sql: ' ', values: [{ column: n }] }\n");
    let e = one_err(&yaml);
    assert_at(&e, "postgres[0].custom_queries[0].sql", 5, 38);
    assert_eq!(
        e.message,
        "sql must not be empty; give one SELECT statement"
    );

    let e = query_err("help: \"Jobs by state.\"", "help: ''");
    assert_at(&e, "postgres[0].custom_queries[0].help", 6, 15);
    assert!(e.message.starts_with("help must not be empty"), "{e}");

    let e = one_err(&pg_with(
        "    custom_queries:\n      - { name: app_n, sql: SELECT 1, values: [{ column: n }] }\n",
    ));
    assert_eq!(e.path, "postgres[0].custom_queries[0]");
    assert_eq!(e.message, "missing field `help`");

    let yaml = pg_with(&format!("{QUERY}        database: ''\n"));
    let e = one_err(&yaml);
    assert_at(&e, "postgres[0].custom_queries[0].database", 12, 19);
    assert!(e.message.starts_with("database must not be empty"), "{e}");
}

#[test]
fn custom_query_needs_values() {
    let no_values =
        "    custom_queries:\n      - name: app_n\n        help: n\n        sql: SELECT 1\n";
    let e = one_err(&pg_with(no_values));
    assert_at(&e, "postgres[0].custom_queries[0]", 5, 9);
    assert_eq!(
        e.to_string(),
        "postgres[0].custom_queries[0]: a custom query needs at least one value column at config.yaml:5:9; e.g. values: [{ column: count }]"
    );
    let e = one_err(&pg_with(&format!("{no_values}        values: []\n")));
    assert_at(&e, "postgres[0].custom_queries[0].values", 8, 17);
}

#[test]
fn custom_query_column_errors() {
    // Duplicate value column.
    let e = query_err("column: oldest_seconds", "column: jobs");
    assert_at(&e, "postgres[0].custom_queries[0].values[1].column", 11, 23);
    assert!(
        e.message.starts_with("value column `jobs` is listed twice"),
        "{e}"
    );
    // Duplicate label column.
    let e = query_err("labels: [state]", "labels: [state, state]");
    assert_at(&e, "postgres[0].custom_queries[0].labels[1]", 8, 25);
    assert!(
        e.message
            .starts_with("label column `state` is listed twice"),
        "{e}"
    );
    // A column used as both.
    let e = query_err("labels: [state]", "labels: [state, jobs]");
    assert_at(&e, "postgres[0].custom_queries[0].values[0].column", 10, 23);
    assert!(
        e.message
            .starts_with("column `jobs` is both a label and a value"),
        "{e}"
    );
    // Reserved and invalid label names.
    let e = query_err("labels: [state]", "labels: [source]");
    assert!(e.message.starts_with("label `source` is reserved"), "{e}");
    let e = query_err("labels: [state]", "labels: [__state]");
    assert!(e.message.starts_with("invalid label name `__state`"), "{e}");
    let e = one_err(&pg_with(&format!("    labels: {{ state: x }}\n{QUERY}")));
    assert_eq!(e.path, "postgres[0].custom_queries[0].labels[0]");
    assert!(
        e.message
            .starts_with("label `state` is also a label of this source"),
        "{e}"
    );
    // A column that cannot be part of a metric name.
    let e = query_err("column: jobs,", "column: 'job count',");
    assert_at(&e, "postgres[0].custom_queries[0].values[0].column", 10, 23);
    assert!(
        e.message.starts_with(
            "invalid value column `job count`: the metric would be named `app_jobs_job count`"
        ),
        "{e}"
    );
    // A counter already ending in _total.
    let e = query_err(
        "column: jobs, type: gauge",
        "column: jobs_total, type: counter",
    );
    assert_at(&e, "postgres[0].custom_queries[0].values[0].column", 10, 23);
    assert_eq!(
        e.to_string(),
        "postgres[0].custom_queries[0].values[0].column: counter `app_jobs_jobs_total` (column `jobs_total`) ends in `_total` at config.yaml:10:23; the exporter adds `_total` to counter samples itself, so it would be exposed as `app_jobs_jobs_total_total`: alias the column without the suffix, e.g. AS jobs"
    );
    // As a gauge the same column is fine.
    ok(&pg_with(&QUERY.replacen(
        "column: jobs,",
        "column: jobs_total,",
        1,
    )));
}

#[test]
fn custom_query_bad_type() {
    let e = query_err("type: gauge, help", "type: histogram, help");
    assert_at(&e, "postgres[0].custom_queries[0].values[1].type", 11, 45);
    assert_eq!(
        e.to_string(),
        "postgres[0].custom_queries[0].values[1].type: unknown value type `histogram` at config.yaml:11:45; expected gauge (the default) or counter"
    );
}

#[test]
fn custom_query_metric_names_must_not_collide() {
    // `app` + `jobs_x` and `app_jobs` + `x` are both `app_jobs_x`.
    let yaml = pg_with("    custom_queries:\n      - { name: app, help: a, sql: SELECT 1, values: [{ column: jobs_x }] }\n      - { name: app_jobs, help: a, sql: SELECT 1, values: [{ column: x }] }\n");
    let e = one_err(&yaml);
    assert_eq!(e.path, "postgres[0].custom_queries[1].values[0].column");
    assert_eq!(e.line, Some(6));
    assert!(e.message.starts_with("metric `app_jobs_x` is also produced by postgres[0].custom_queries[0].values[0].column"), "{e}");
    // A counter's `_total` sample against a gauge of that name.
    let yaml = pg_with("    custom_queries:\n      - { name: app, help: a, sql: SELECT 1, values: [{ column: n, type: counter }, { column: n_total }] }\n");
    let e = one_err(&yaml);
    assert!(
        e.message
            .starts_with("metric `app_n_total` is also produced"),
        "{e}"
    );
}

#[test]
fn custom_query_timing_errors() {
    let e = query_err("values:", "interval: 10s\n        values:");
    assert_at(&e, "postgres[0].custom_queries[0].interval", 9, 19);
    assert_eq!(
        e.to_string(),
        "postgres[0].custom_queries[0].interval: interval 10s is shorter than the source's interval 15s at config.yaml:9:19; a custom query runs at most once per poll of its source, so leave interval out (every poll) or make it at least 15s"
    );
    let e = query_err("values:", "timeout: 6s\n        values:");
    assert_at(&e, "postgres[0].custom_queries[0].timeout", 9, 18);
    assert!(
        e.message
            .starts_with("timeout 6s is longer than the source's timeout 5s; the whole poll"),
        "{e}"
    );
    let e = query_err("values:", "timeout: 0s\n        values:");
    assert_eq!(e.message, "timeout must be greater than 0");
    let e = query_err("values:", "interval: soon\n        values:");
    assert!(e.message.starts_with("invalid duration `soon`"), "{e}");
    // Compared with the source's own values, which may come from `defaults`.
    let yaml = format!(
        "defaults: {{ interval: 1m, timeout: 20s }}\n{}",
        pg_with(&format!(
            "{QUERY}        interval: 30s\n        timeout: 20s\n"
        ))
    );
    let e = one_err(&yaml);
    assert!(
        e.message
            .starts_with("interval 30s is shorter than the source's interval 1m"),
        "{e}"
    );
    // A source whose own timing is wrong reports only that, not every query as well.
    let e = one_err(&pg_with(&format!(
        "    timeout: 1m\n{QUERY}        timeout: 30s\n"
    )));
    assert_eq!(e.path, "postgres[0].timeout");
}

#[test]
fn all_custom_query_problems_are_collected() {
    let yaml = pg_with("    custom_queries:\n      - name: pg_x\n        help: ''\n        sql: ''\n        labels: [a, a]\n        values: [{ column: v, type: summary }, { column: v }]\n        interval: 1s\n        timeout: 1m\n");
    let e = load(&yaml).unwrap_err();
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "postgres[0].custom_queries[0].name",
            "postgres[0].custom_queries[0].help",
            "postgres[0].custom_queries[0].sql",
            "postgres[0].custom_queries[0].labels[1]",
            "postgres[0].custom_queries[0].values[0].type",
            "postgres[0].custom_queries[0].values[1].column",
            "postgres[0].custom_queries[0].interval",
            "postgres[0].custom_queries[0].timeout",
        ]
    );
    assert!(e.iter().all(|e| e.line.is_some()), "{e:#?}");
}

// ---------------------------------------------------------------- rendering of collectors

#[test]
fn redacted_yaml_shows_collectors_and_queries() {
    let yaml = format!(
        "postgres:\n  - name: main\n    url: ${{DB_PASS_URL}}\n    collectors:\n      locks: false\n      statements: {{ limit: 7, query_text: true }}\n      user_tables: {{ databases: [app] }}\n{QUERY}        interval: 1m\n        database: jobs\n"
    );
    let c = ok(&yaml);
    let out = c.to_redacted_yaml();
    assert!(!out.contains("pgpass-1"), "{out}");
    assert!(
        out.contains("url: postgresql://app:***@db:5432/app"),
        "{out}"
    );
    for want in [
        "  collectors:\n    database:\n      enabled: true\n    activity:\n      enabled: true\n    locks:\n      enabled: false\n",
        "    user_tables:\n      enabled: true\n      databases:\n      - app\n      max_databases: 10\n      max_tables: 200\n",
        "    statements:\n      enabled: true\n      limit: 7\n      query_text: true\n      query_text_max_length: 120\n",
        "  custom_queries:\n  - name: app_jobs\n    help: Jobs by state.\n",
        "    sql: SELECT state, count(*) AS jobs, max(age) AS oldest_seconds FROM jobs GROUP BY state\n",
        "    - column: oldest_seconds\n      type: gauge\n      help: Age of the oldest job.\n",
        "    interval: 1m\n    timeout: 5s\n    database: jobs\n",
    ] {
        assert!(out.contains(want), "missing:\n{want}\nin:\n{out}");
    }

    // Disabled collectors carry no options; the output loads back to the same config.
    let c = ok(&pg_with(
        "    collectors: { statements: false, user_tables: { enabled: false }, timescaledb: false }\n",
    ));
    let out = c.to_redacted_yaml();
    assert!(
        out.contains(
            "    user_tables:\n      enabled: false\n    statements:\n      enabled: false\n    timescaledb:\n      enabled: false\n"
        ),
        "{out}"
    );
    let c = ok(&format!(
        "{PG}    collectors: {{ wal: false }}\n{QUERY}        timeout: 1s\n"
    ));
    let again = ok(&c.to_redacted_yaml());
    assert_eq!(again.postgres, c.postgres);
}

// ---------------------------------------------------------------- wrongly shaped values

/// One `Deserialize` type of src/config/schema.rs, read from the source itself so that a
/// struct or field added later is covered without anyone remembering this test.
struct SchemaType {
    name: String,
    derived: bool,
    has_expecting: bool,
    /// (YAML key, Rust type) of each field.
    fields: Vec<(String, String)>,
}

fn schema_types() -> Vec<SchemaType> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/schema.rs");
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut types = Vec::new();
    // Attributes as one string each: rustfmt spreads a long one over several lines.
    let mut attrs: Vec<String> = Vec::new();
    let mut attr_open = false;
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let t = line.trim();
        if attr_open || t.starts_with("#[") {
            match attrs.last_mut() {
                Some(last) if attr_open => last.push_str(t),
                _ => attrs.push(t.to_owned()),
            }
            attr_open = !t.ends_with(']');
            continue;
        }
        let item = [
            "pub(crate) struct ",
            "pub struct ",
            "pub(crate) enum ",
            "pub enum ",
        ]
        .iter()
        .find_map(|p| t.strip_prefix(p));
        let Some(item) = item else {
            if !t.starts_with("///") {
                attrs.clear();
            }
            continue;
        };
        let name: String = (item.chars())
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let derived = attrs
            .iter()
            .any(|a| a.starts_with("#[derive(") && a.contains("Deserialize"));
        let has_expecting = attrs.iter().any(|a| a.contains("expecting ="));
        attrs.clear();
        let mut fields = Vec::new();
        if t.contains(" struct ") && t.ends_with('{') {
            let mut rename = None;
            for line in lines.by_ref() {
                let f = line.trim();
                if f == "}" {
                    break;
                }
                if let Some(r) = f.strip_prefix("#[serde(rename = \"") {
                    rename = r.split('"').next().map(str::to_owned);
                    continue;
                }
                let f = f
                    .strip_prefix("pub(crate) ")
                    .or_else(|| f.strip_prefix("pub "))
                    .unwrap_or(f);
                if f.starts_with("//") || f.starts_with('#') {
                    continue;
                }
                if let Some((key, ty)) = f.split_once(": ") {
                    let key = rename.take().unwrap_or_else(|| key.to_owned());
                    fields.push((key, ty.trim_end_matches(',').to_owned()));
                }
            }
        }
        types.push(SchemaType {
            name,
            derived,
            has_expecting,
            fields,
        });
    }
    types
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index,
}

fn path_text(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index => out.push_str("[0]"),
        }
    }
    out
}

/// A document holding `value` at `path` and nothing else, in block style, so that the
/// value is on its last line. Leaving out a struct's required fields is fine: serde
/// reports the wrongly shaped value before it notices what is missing.
fn yaml_at(path: &[Step], value: &str) -> String {
    if path.is_empty() {
        return format!("{value}\n");
    }
    let mut out = String::new();
    let mut column = 0;
    let mut opens_element = false;
    for (i, step) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match step {
            Step::Key(k) => {
                let lead = if opens_element {
                    format!("{}- ", " ".repeat(column - 2))
                } else {
                    " ".repeat(column)
                };
                opens_element = false;
                if last {
                    out.push_str(&format!("{lead}{k}: {value}\n"));
                } else {
                    out.push_str(&format!("{lead}{k}:\n"));
                    column += 2;
                }
            }
            Step::Index if last => out.push_str(&format!("{}- {value}\n", " ".repeat(column))),
            Step::Index => {
                column += 2;
                opens_element = true;
            }
        }
    }
    out
}

/// Everything a config error must not show: the schema's own type names and Rust's.
fn rust_type_names(types: &[SchemaType]) -> Vec<String> {
    let mut names: Vec<String> = types.iter().map(|t| t.name.clone()).collect();
    for n in [
        "Option", "Vec", "BTreeMap", "HashMap", "String", "Box", "bool", "u8", "u16", "u32", "u64",
        "usize", "i32", "i64", "f32", "f64", "struct", "enum", "Raw",
    ] {
        names.push(n.to_owned());
    }
    names
}

/// Feeds each wrongly shaped value to `path` (whose type is `ty`) and checks the error;
/// then goes inside: the fields of a struct, the elements of a list, the values of a map.
fn check_wrong_shapes(
    types: &[SchemaType],
    path: &[Step],
    ty: &str,
    reached: &mut Vec<String>,
    checked: &mut usize,
) {
    let ty = ty
        .strip_prefix("Option<")
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(ty);
    let forbidden = rust_type_names(types);
    let mut check = |value: &str| {
        let yaml = yaml_at(path, value);
        let want_path = path_text(path);
        let want_line = yaml.lines().count();
        let errors = match load(&yaml) {
            Ok(_) => panic!("`{want_path}: {value}` loaded:\n{yaml}"),
            Err(e) => e,
        };
        assert_eq!(errors.len(), 1, "{yaml}{errors:#?}");
        let e = &errors[0];
        let shown = e.to_string();
        assert_eq!(e.path, want_path, "{shown}\n{yaml}");
        assert_eq!(e.file.as_deref(), Some(Path::new(FILE)), "{shown}");
        assert_eq!(e.line, Some(want_line), "{shown}\n{yaml}");
        assert!(
            shown.starts_with(&format!("{want_path}: ")) || want_path.is_empty(),
            "{shown}"
        );
        assert!(shown.contains(&format!("{FILE}:{want_line}:")), "{shown}");
        let words: Vec<&str> = e
            .message
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .collect();
        let named = (forbidden.iter())
            .find(|name| words.contains(&name.as_str()) || e.message.contains("Raw"));
        assert!(
            named.is_none(),
            "`{want_path}: {value}` shows a Rust type name ({named:?}): {shown}"
        );
        *checked += 1;
    };
    if let Some(inner) = ty.strip_prefix("Vec<").and_then(|t| t.strip_suffix('>')) {
        check("{ a: 1 }");
        check("3");
        let mut element = path.to_vec();
        element.push(Step::Index);
        check_wrong_shapes(types, &element, inner, reached, checked);
    } else if let Some(inner) = ty.strip_prefix("Toggle<").and_then(|t| t.strip_suffix('>')) {
        for value in ["not-a-mapping", "[1, 2]", "3"] {
            check(value);
        }
        check_wrong_shapes(types, path, inner, reached, checked);
    } else if ty.starts_with("BTreeMap<String, ") || ty == "Pairs" {
        for value in ["not-a-mapping", "[1, 2]", "3"] {
            check(value);
        }
        let value_type = ty
            .strip_prefix("BTreeMap<String, ")
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or("Text");
        let mut entry = path.to_vec();
        entry.push(Step::Key("k".into()));
        check_wrong_shapes(types, &entry, value_type, reached, checked);
    } else if let Some(s) = types.iter().find(|t| t.name == ty && t.derived) {
        for value in ["not-a-mapping", "[1, 2]", "3"] {
            check(value);
        }
        reached.push(s.name.clone());
        for (key, field_type) in &s.fields {
            let mut field = path.to_vec();
            field.push(Step::Key(key.clone()));
            check_wrong_shapes(types, &field, field_type, reached, checked);
        }
    } else if [
        "Text",
        "Dur",
        "Count",
        "Flag",
        "ByteSize",
        "Number",
        "OneOrMany",
    ]
    .contains(&ty)
    {
        // Scalars: a list is a fine value for OneOrMany, a mapping is wrong for all.
        check("{ a: 1 }");
    } else {
        panic!(
            "`{}` has type `{ty}`, which this test does not know how to feed a wrongly \
             shaped value; a bare Rust type (f64, i64, bool, String) would show its name in \
             errors: use Number, Count, Flag or Text",
            path_text(path)
        );
    }
}

#[test]
fn wrongly_shaped_values_never_show_rust_type_names() {
    let types = schema_types();
    let missing: Vec<&str> = (types.iter())
        .filter(|t| t.derived && !t.has_expecting)
        .map(|t| t.name.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "give these a #[serde(expecting = \"...\")] in plain words with an example of \
         the shape, or their errors name the Rust type: {missing:?}"
    );

    let underived: Vec<&str> = (types.iter())
        .filter(|t| t.name.starts_with("Raw") && !t.derived)
        .map(|t| t.name.as_str())
        .collect();
    assert!(underived.is_empty(), "not read as derived: {underived:?}");

    let mut reached = Vec::new();
    let mut checked = 0;
    check_wrong_shapes(&types, &[], "RawConfig", &mut reached, &mut checked);
    let unreached: Vec<&str> = (types.iter())
        .filter(|t| t.derived && !reached.contains(&t.name))
        .map(|t| t.name.as_str())
        .collect();
    assert!(
        unreached.is_empty(),
        "not reached from RawConfig: {unreached:?}"
    );
    assert!(
        checked > 200,
        "only {checked} cases: did parsing the schema fail?"
    );

    // The case of issue 13, as a user sees it.
    let e = one_err("apps:\n  - name: api\n    probes:\n      - url: http://h/health\n        json_services: /services\n");
    assert_eq!(
        e.to_string(),
        "apps[0].probes[0].json_services: invalid type: string \"/services\", expected a mapping such as `{ pointer: /services }` at config.yaml:5:24"
    );
}
