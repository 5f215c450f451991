//! From the raw file structs to the validated `Config`: defaults applied, secrets read
//! from files, and every cross-field rule checked. All problems are collected, not just
//! the first, so one run of `--check-config` shows everything to fix.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use super::schema::{
    Dur, RawBasicAuth, RawConfig, RawDefaults, RawPgBouncer, RawPostgres, RawRedis, RawWeb, Text,
};
use super::{
    Config, ConfigOrigin, HttpAuth, PgBouncerConfig, PostgresConfig, RedisConfig, Secret,
    SourceCommon, WebConfig, DEFAULT_LISTEN_ADDRESS,
};
use crate::redact::{redact_url, url_secrets, Scrubber};

mod app;
mod postgres;
mod redis;
mod remote_write;
mod signals;
mod tls;

pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 64;
pub(crate) const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
const MIN_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// Where in the document a value sits; also used to find its line afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    pub fn key(&self, key: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_owned()));
        FieldPath(segs)
    }

    pub fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        FieldPath(segs)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
pub(crate) struct Issue {
    pub path: FieldPath,
    pub message: String,
}

struct Builder {
    /// Relative secret-file paths are resolved against the config file's directory, so
    /// the config means the same thing whatever the working directory.
    base_dir: Option<PathBuf>,
    issues: Vec<Issue>,
    /// Source name → path of its first use.
    names: HashMap<String, FieldPath>,
    defaults: (Duration, Duration),
}

pub(crate) fn build(
    raw: RawConfig,
    origin: ConfigOrigin,
    base_dir: Option<&Path>,
) -> Result<Config, Vec<Issue>> {
    let mut b = Builder {
        base_dir: base_dir.map(Path::to_path_buf),
        issues: Vec::new(),
        names: HashMap::new(),
        defaults: (DEFAULT_INTERVAL, DEFAULT_TIMEOUT),
    };
    let root = FieldPath::default();
    let web = b.web(raw.web, &root.key("web"));
    b.defaults = b.defaults(raw.defaults, &root.key("defaults"));

    let pg_path = root.key("postgres");
    let postgres = (raw.postgres.unwrap_or_default().into_iter().enumerate())
        .map(|(i, p)| b.postgres(p, &pg_path.index(i)))
        .collect();
    let pgb_path = root.key("pgbouncer");
    let pgbouncer = (raw.pgbouncer.unwrap_or_default().into_iter().enumerate())
        .map(|(i, p)| b.pgbouncer(p, &pgb_path.index(i)))
        .collect();
    let redis_path = root.key("redis");
    let redis = (raw.redis.unwrap_or_default().into_iter().enumerate())
        .map(|(i, r)| b.redis(r, &redis_path.index(i)))
        .collect();
    let apps_path = root.key("apps");
    let apps = (raw.apps.unwrap_or_default().into_iter().enumerate())
        .map(|(i, a)| b.app(a, &apps_path.index(i)))
        .collect();
    let remote_write = b.remote_writes(raw.remote_write, &root.key("remote_write"));

    if b.issues.is_empty() {
        Ok(Config {
            origin,
            web,
            postgres,
            pgbouncer,
            redis,
            apps,
            remote_write,
        })
    } else {
        Err(b.issues)
    }
}

impl Builder {
    fn issue(&mut self, path: FieldPath, message: impl Into<String>) {
        self.issues.push(Issue {
            path,
            message: message.into(),
        });
    }

    fn web(&mut self, raw: Option<RawWeb>, p: &FieldPath) -> WebConfig {
        let mut web = WebConfig {
            listen_address: default_listen_address(),
            auth: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        };
        let Some(raw) = raw else { return web };
        if let Some(Text(addr)) = raw.listen_address {
            match parse_listen_address(&addr) {
                Ok(a) => web.listen_address = a,
                Err(m) => self.issue(p.key("listen_address"), m),
            }
        }
        if let Some(n) = raw.max_connections {
            match usize::try_from(n.0) {
                Ok(n) if n >= 1 => web.max_connections = n,
                _ => self.issue(
                    p.key("max_connections"),
                    format!("max_connections must be at least 1, got {}", n.0),
                ),
            }
        }
        if let Some(Dur(d)) = raw.header_read_timeout {
            if d.is_zero() {
                self.issue(
                    p.key("header_read_timeout"),
                    "header_read_timeout must be greater than 0",
                );
            } else {
                web.header_read_timeout = d;
            }
        }
        web.auth = self.http_auth(raw.basic_auth, raw.bearer_token, raw.bearer_token_file, p);
        web
    }

    /// `basic_auth` / `bearer_token` / `bearer_token_file` under `p`: at most one kind.
    fn http_auth(
        &mut self,
        basic: Option<RawBasicAuth>,
        bearer_token: Option<Text>,
        bearer_token_file: Option<Text>,
        p: &FieldPath,
    ) -> Option<HttpAuth> {
        let basic = basic.and_then(|b| self.basic_auth(b, &p.key("basic_auth")));
        let bearer = self.either_or_file(
            bearer_token,
            bearer_token_file,
            p,
            ("bearer_token", "bearer_token_file"),
            "bearer token",
        );
        match (basic, bearer) {
            (Some(_), Some(_)) => {
                self.issue(
                    p.key("bearer_token"),
                    "basic_auth and bearer_token are mutually exclusive; configure only one",
                );
                None
            }
            (Some(b), None) => Some(b),
            (None, Some(token)) => Some(HttpAuth::Bearer { token }),
            (None, None) => None,
        }
    }

    fn basic_auth(&mut self, raw: RawBasicAuth, p: &FieldPath) -> Option<HttpAuth> {
        let username = raw.username.0;
        if username.is_empty() {
            self.issue(p.key("username"), "username must not be empty");
        }
        if username.contains(':') {
            // HTTP basic auth joins user and password with ':' so the split would be ambiguous.
            self.issue(p.key("username"), "username must not contain `:`");
        }
        let issues_before = self.issues.len();
        let password = self.either_or_file(
            raw.password,
            raw.password_file,
            p,
            ("password", "password_file"),
            "password",
        );
        if password.is_none() && self.issues.len() == issues_before {
            self.issue(p.clone(), "basic_auth needs `password` or `password_file`");
        }
        Some(HttpAuth::Basic {
            username,
            password: password?,
        })
    }

    /// A secret given inline or as a file, not both. Empty secrets are refused: an empty
    /// password or token is almost always a variable that did not get set.
    fn either_or_file(
        &mut self,
        inline: Option<Text>,
        file: Option<Text>,
        p: &FieldPath,
        (inline_key, file_key): (&str, &str),
        what: &str,
    ) -> Option<Secret> {
        let (value, at) = match (inline, file) {
            (None, None) => return None,
            (Some(_), Some(_)) => {
                self.issue(
                    p.key(file_key),
                    format!("set either `{inline_key}` or `{file_key}`, not both"),
                );
                return None;
            }
            (Some(Text(v)), None) => (v, p.key(inline_key)),
            (None, Some(Text(path))) => {
                let at = p.key(file_key);
                match self.read_secret_file(&path) {
                    Ok(v) => (v, at),
                    Err(m) => {
                        self.issue(at, m);
                        return None;
                    }
                }
            }
        };
        if value.is_empty() {
            self.issue(at, format!("the {what} is empty"));
            return None;
        }
        Some(Secret::new(value))
    }

    fn read_secret_file(&self, path: &str) -> Result<String, String> {
        let resolved = match &self.base_dir {
            Some(dir) if Path::new(path).is_relative() => dir.join(path),
            _ => PathBuf::from(path),
        };
        let text = std::fs::read_to_string(&resolved)
            .map_err(|e| format!("cannot read secret file `{}`: {e}", resolved.display()))?;
        // Files written by `echo` or editors end in a newline that is not part of the secret.
        let value = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(&text);
        if value.is_empty() {
            return Err(format!("secret file `{}` is empty", resolved.display()));
        }
        Ok(value.to_owned())
    }

    fn defaults(&mut self, raw: Option<RawDefaults>, p: &FieldPath) -> (Duration, Duration) {
        let raw = raw.unwrap_or(RawDefaults {
            interval: None,
            timeout: None,
        });
        let interval = raw.interval.map_or(DEFAULT_INTERVAL, |d| d.0);
        let timeout = raw.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0);
        let ok = self.check_timing(p, interval, timeout, true, true, "");
        if ok {
            (interval, timeout)
        } else {
            // Sources then inherit sane values instead of repeating the same error each.
            (DEFAULT_INTERVAL, DEFAULT_TIMEOUT)
        }
    }

    /// Checks interval/timeout; `own_*` says which of them this item sets itself, so
    /// that errors point at a field that exists and are not repeated for inherited values.
    fn check_timing(
        &mut self,
        p: &FieldPath,
        interval: Duration,
        timeout: Duration,
        own_interval: bool,
        own_timeout: bool,
        inherited_note: &str,
    ) -> bool {
        let mut ok = true;
        if own_interval && interval < MIN_INTERVAL {
            self.issue(
                p.key("interval"),
                format!(
                    "interval {} is too short; the minimum is 1s",
                    fmt_duration(interval)
                ),
            );
            ok = false;
        }
        if own_timeout && timeout.is_zero() {
            self.issue(p.key("timeout"), "timeout must be greater than 0");
            ok = false;
        }
        if ok && (own_interval || own_timeout) && timeout > interval {
            let at = if own_timeout { "timeout" } else { "interval" };
            self.issue(
                p.key(at),
                format!(
                    "timeout {} is longer than interval {}{inherited_note}; the timeout must not exceed the interval",
                    fmt_duration(timeout),
                    fmt_duration(interval)
                ),
            );
            ok = false;
        }
        ok
    }

    fn common(
        &mut self,
        p: &FieldPath,
        name: Text,
        interval: Option<Dur>,
        timeout: Option<Dur>,
        labels: Option<BTreeMap<String, Text>>,
    ) -> SourceCommon {
        let name = name.0;
        if !is_valid_source_name(&name) {
            self.issue(
                p.key("name"),
                format!(
                    "invalid source name `{name}`; use 1 to 64 characters from A-Z a-z 0-9 _ . : -"
                ),
            );
        } else if let Some(first) = self.names.get(&name) {
            let first = first.to_string();
            self.issue(
                p.key("name"),
                format!("duplicate source name `{name}`, already used by {first}; source names must be unique across postgres, pgbouncer, redis and apps"),
            );
        } else {
            self.names.insert(name.clone(), p.clone());
        }

        let (default_interval, default_timeout) = self.defaults;
        let note = match (interval.is_some(), timeout.is_some()) {
            (true, false) => " (timeout from defaults)",
            (false, true) => " (interval from defaults)",
            _ => "",
        };
        let mut iv = interval.map_or(default_interval, |d| d.0);
        let mut to = timeout.map_or(default_timeout, |d| d.0);
        if !self.check_timing(p, iv, to, interval.is_some(), timeout.is_some(), note) {
            (iv, to) = (default_interval, default_timeout);
        }

        let mut out = BTreeMap::new();
        for (key, Text(value)) in labels.unwrap_or_default() {
            let at = p.key("labels").key(&key);
            match label_name_problem(&key) {
                Some(m) => self.issue(at, m),
                None => {
                    out.insert(key, value);
                }
            }
        }
        SourceCommon {
            name,
            interval: iv,
            timeout: to,
            labels: out,
        }
    }

    fn password_file(&mut self, file: Option<Text>, p: &FieldPath) -> Option<String> {
        let Text(path) = file?;
        match self.read_secret_file(&path) {
            Ok(v) => Some(v),
            Err(m) => {
                self.issue(p.key("password_file"), m);
                None
            }
        }
    }

    fn postgres(&mut self, raw: RawPostgres, p: &FieldPath) -> PostgresConfig {
        let issues_before = self.issues.len();
        let common = self.common(p, raw.name, raw.interval, raw.timeout, raw.labels);
        let timing_ok = !self.issues[issues_before..]
            .iter()
            .any(|i| i.path == p.key("interval") || i.path == p.key("timeout"));
        let password = self.password_file(raw.password_file, p);
        let url = match postgres_url(&raw.url.0, password.as_deref()) {
            Ok(u) => u,
            Err(m) => {
                self.issue(p.key("url"), m);
                String::new()
            }
        };
        let collectors = self.postgres_collectors(raw.collectors, &p.key("collectors"));
        let custom_queries = self.custom_queries(
            raw.custom_queries,
            &common,
            timing_ok,
            &p.key("custom_queries"),
        );
        PostgresConfig {
            common,
            display_url: redact_url(&url),
            url: Secret::new(url),
            collectors,
            custom_queries,
        }
    }

    fn pgbouncer(&mut self, raw: RawPgBouncer, p: &FieldPath) -> PgBouncerConfig {
        let common = self.common(p, raw.name, raw.interval, raw.timeout, raw.labels);
        let password = self.password_file(raw.password_file, p);
        let url = match pgbouncer_url(&raw.url.0, password.as_deref()) {
            Ok(u) => u,
            Err(m) => {
                self.issue(p.key("url"), m);
                String::new()
            }
        };
        PgBouncerConfig {
            common,
            display_url: redact_url(&url),
            url: Secret::new(url),
        }
    }

    fn redis(&mut self, raw: RawRedis, p: &FieldPath) -> RedisConfig {
        let issues_before = self.issues.len();
        let common = self.common(p, raw.name, raw.interval, raw.timeout, raw.labels);
        let timing_ok = !self.issues[issues_before..]
            .iter()
            .any(|i| i.path == p.key("interval") || i.path == p.key("timeout"));
        let password = self.password_file(raw.password_file, p);
        let url = match redis_url(&raw.url.0, password.as_deref()) {
            Ok(u) => u,
            Err(m) => {
                self.issue(p.key("url"), m);
                String::new()
            }
        };
        let checks = redis::RawRedisChecks {
            check_keys: raw.check_keys,
            check_streams: raw.check_streams,
            key_checks: raw.key_checks,
            queues: raw.queues,
        };
        let key_checks = self.redis_key_checks(checks, &common, timing_ok, p);
        let tls = self.redis_tls(raw.tls, &url, p);
        RedisConfig {
            common,
            display_url: redact_url(&url),
            url: Secret::new(url),
            key_checks,
            tls,
        }
    }
}

pub(crate) fn default_listen_address() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 9650))
}

fn parse_listen_address(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    let full = match text.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => text.to_owned(),
    };
    full.parse().map_err(|_| {
        format!("invalid listen address `{text}`; expected an IP address and port, e.g. {DEFAULT_LISTEN_ADDRESS}, [::]:9650 or :9650")
    })
}

fn is_valid_source_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
}

fn label_name_problem(name: &str) -> Option<String> {
    match name {
        "source" => Some("label `source` is reserved: the exporter sets it to the source name".to_owned()),
        "job" | "instance" => Some(format!(
            "label `{name}` is set by Prometheus from the scrape target and would be overwritten or renamed to exported_{name}; set it in the Prometheus scrape config instead"
        )),
        _ if !crate::model::is_valid_label_name(name) => Some(format!(
            "invalid label name `{name}`; label names match [a-zA-Z_][a-zA-Z0-9_]* and must not start with __"
        )),
        _ => None,
    }
}

/// The URL with `password` (from a password file) put in, percent-encoded by the url
/// crate. Without one the text is kept byte for byte.
fn with_password(url: &mut Url, raw: &str, password: Option<&str>) -> Result<String, String> {
    match password {
        None => Ok(raw.to_owned()),
        Some(pw) => {
            url.set_password(Some(pw)).map_err(|()| {
                "password_file needs a URL with a host to put the password in".to_owned()
            })?;
            Ok(url.as_str().to_owned())
        }
    }
}

/// Validates a PostgreSQL URL and applies a password file. Error text never contains
/// the password.
pub(crate) fn postgres_url(raw: &str, password: Option<&str>) -> Result<String, String> {
    const HINT: &str = "expected e.g. postgresql://user@db.example:5432/dbname";
    let shown = redact_url(raw);
    let mut url =
        Url::parse(raw).map_err(|e| format!("invalid PostgreSQL URL `{shown}` ({e}); {HINT}"))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(format!(
            "unsupported scheme `{}` in PostgreSQL URL `{shown}`; expected postgres:// or postgresql://",
            url.scheme()
        ));
    }
    let full = with_password(&mut url, raw, password)?;
    // The source's own parser, so that what passes here connects the same way; it also
    // reads the sslrootcert/sslcert/sslkey files the URL names.
    if let Err(why) = crate::sources::postgres::tls::prepare(&full) {
        // prepare keeps the password out; scrub again in case a value quotes it.
        let why = Scrubber::new(url_secrets(&full)).scrub(&why);
        return Err(format!("invalid PostgreSQL URL `{shown}`: {why}"));
    }
    Ok(full)
}

/// Validates a PgBouncer admin console URL: a PostgreSQL URL (same rules, same parser)
/// whose database is `pgbouncer`, the name PgBouncer answers SHOW commands under.
pub(crate) fn pgbouncer_url(raw: &str, password: Option<&str>) -> Result<String, String> {
    const HINT: &str = "expected e.g. postgresql://stats_user@127.0.0.1:6432/pgbouncer";
    let full = postgres_url(raw, password).map_err(|e| {
        e.replacen("PostgreSQL URL", "PgBouncer URL", 1)
            .replace("postgresql://user@db.example:5432/dbname", HINT)
    })?;
    let shown = redact_url(raw);
    let connector = crate::sources::postgres::tls::prepare(&full)
        .map_err(|e| format!("invalid PgBouncer URL `{shown}`: {e}"))?;
    // Without a database in the URL, PostgreSQL clients use the user name, as
    // tokio-postgres does: report what it would connect to.
    let config = connector.config();
    match config.get_dbname().or_else(|| config.get_user()) {
        Some("pgbouncer") => Ok(full),
        Some(other) => Err(format!(
            "PgBouncer URL `{shown}` names the database `{other}`, but the admin console is the database `pgbouncer`; {HINT}"
        )),
        None => Err(format!(
            "PgBouncer URL `{shown}` names no database; the admin console is the database `pgbouncer`; {HINT}"
        )),
    }
}

pub(crate) fn redis_url(raw: &str, password: Option<&str>) -> Result<String, String> {
    const HINT: &str = "expected e.g. redis://cache.example:6379 or rediss://:password@host:6380/0";
    let shown = redact_url(raw);
    let mut url =
        Url::parse(raw).map_err(|e| format!("invalid Redis URL `{shown}` ({e}); {HINT}"))?;
    if !matches!(url.scheme(), "redis" | "rediss" | "valkey" | "valkeys") {
        return Err(format!(
            "unsupported scheme `{}` in Redis URL `{shown}`; expected redis://, rediss://, valkey:// or valkeys://",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("Redis URL `{shown}` has no host; {HINT}"));
    }
    with_password(&mut url, raw, password)
}

pub(crate) fn fmt_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_path_display() {
        let p = FieldPath::default()
            .key("apps")
            .index(0)
            .key("probes")
            .index(2)
            .key("url");
        assert_eq!(p.to_string(), "apps[0].probes[2].url");
    }

    #[test]
    fn listen_address_forms() {
        assert_eq!(
            parse_listen_address(":9650").unwrap(),
            "0.0.0.0:9650".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            parse_listen_address("[::1]:80").unwrap(),
            "[::1]:80".parse::<SocketAddr>().unwrap()
        );
        assert!(parse_listen_address("localhost:9650").is_err());
        assert!(parse_listen_address("9650").is_err());
    }

    #[test]
    fn source_names() {
        assert!(is_valid_source_name("main-db_1.eu:a"));
        assert!(!is_valid_source_name(""));
        assert!(!is_valid_source_name("has space"));
        assert!(!is_valid_source_name(&"x".repeat(65)));
        assert!(is_valid_source_name(&"x".repeat(64)));
    }

    #[test]
    fn password_is_percent_encoded_into_urls() {
        let u = postgres_url("postgresql://app@db:5432/app", Some("p@ss/w:rd")).unwrap();
        assert_eq!(u, "postgresql://app:p%40ss%2Fw%3Ard@db:5432/app");
        assert_eq!(
            crate::redact::url_password(&u).as_deref(),
            Some("p@ss/w:rd")
        );
        let u = redis_url("redis://cache:6379/0", Some("s3cret")).unwrap();
        assert_eq!(u, "redis://:s3cret@cache:6379/0");
    }

    #[test]
    fn pgbouncer_urls_name_the_admin_console() {
        let u = pgbouncer_url("postgresql://stats@127.0.0.1:6432/pgbouncer", Some("p@ss")).unwrap();
        assert_eq!(u, "postgresql://stats:p%40ss@127.0.0.1:6432/pgbouncer");
        let err = pgbouncer_url("postgresql://stats:topsecret@h:6432/app", None).unwrap_err();
        assert!(
            err.contains("the admin console is the database `pgbouncer`"),
            "{err}"
        );
        assert!(err.contains("`app`"), "{err}");
        assert!(!err.contains("topsecret"), "{err}");
        // No database: clients default to the user name, which is not `pgbouncer` here.
        let err = pgbouncer_url("postgresql://stats@h:6432", None).unwrap_err();
        assert!(err.contains("`stats`"), "{err}");
        assert!(pgbouncer_url("postgresql://pgbouncer@h:6432", None).is_ok());
        let err = pgbouncer_url("redis://h:6432/pgbouncer", None).unwrap_err();
        assert!(err.contains("in PgBouncer URL"), "{err}");
    }

    #[test]
    fn url_errors_do_not_echo_passwords() {
        let err = postgres_url("mysql://u:topsecret@h/db", None).unwrap_err();
        assert!(err.contains("unsupported scheme `mysql`"), "{err}");
        assert!(!err.contains("topsecret"), "{err}");
        let err = redis_url("redis://:topsecret@", None).unwrap_err();
        assert!(!err.contains("topsecret"), "{err}");
    }
}
