//! Loading, error reporting and redaction of the config file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use stack_exporter::config::{
    builtin_default, load_file, load_str, Config, ConfigError, ConfigOrigin, Env, WebAuth,
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
        "unknown field `postgress`, expected one of `web`, `defaults`, `postgres`, `redis`, `apps`"
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
fn metrics_url_is_rejected_explicitly() {
    let yaml = "apps:\n  - name: api\n    probes: [{ url: 'http://h/' }]\n    metrics_url: http://h/metrics\n";
    let e = one_err(yaml);
    assert_at(&e, "apps[0].metrics_url", 4, 18);
    assert_eq!(
        e.message,
        "`metrics_url` (scraping the app's own /metrics) is not supported yet; use probes"
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
        Some(WebAuth::Basic { username, password }) => {
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
            "redis[0].name: duplicate source name `main`, already used by postgres[0] at config.yaml:5:11; source names must be unique across postgres, redis and apps",
            "apps[0].name: duplicate source name `main`, already used by postgres[0] at config.yaml:8:11; source names must be unique across postgres, redis and apps",
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
fn app_needs_probes() {
    let e = one_err("apps:\n  - name: api\n");
    assert_eq!(e.path, "apps[0].probes");
    assert_eq!(e.message, "an app needs at least one probe");
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
        Some(WebAuth::Bearer { token }) => assert_eq!(token.expose(), "tok-secret-3"),
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
        Some(WebAuth::Basic { password, .. }) => assert_eq!(password.expose(), "webpass\n"),
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
    assert_eq!(c.apps[0].probes[0].name, "health");
    assert_eq!(c.apps[0].probes[0].expected_status, [200, 204]);
    assert_eq!(c.web.listen_address.to_string(), "0.0.0.0:9650");

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
    ];

    let with_basic = format!(
        "web:\n  basic_auth: {{ username: prom, password: basicpass-5 }}\npostgres:\n  - name: a\n    url: ${{DB_PASS_URL}}\n  - name: b\n    url: postgresql://u@h/db\n    password_file: {}\nredis:\n  - name: r\n    url: 'redis://:redispass-2@cache:6379'\napps:\n  - name: api\n    probes:\n      - url: http://u:probepass-7@h/health\n        headers: {{ Authorization: 'Bearer hdr-secret-6' }}\n",
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
