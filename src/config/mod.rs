//! Configuration: YAML text → interpolated, parsed, validated `Config`.
//!
//! `schema` holds the serde structs that mirror the file (unknown fields rejected);
//! `load` turns a file into a `Config` with errors that name file, line, column and
//! field; `validate` holds the cross-field rules. Everything downstream only ever sees
//! the validated types in this file.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod default;
mod error;
mod interpolate;
mod load;
mod redis_keys;
mod render;
mod schema;
mod secret;
mod validate;

pub use default::builtin_default;
pub use error::{ConfigError, ConfigErrors};
pub use load::{find_config_file, load_file, load_str, Env};
pub use redis_keys::{KeyCheckOptions, KeyRef, QueueLibrary, QueuePreset, RedisKeyChecks};
pub use secret::Secret;

pub const DEFAULT_LISTEN_ADDRESS: &str = "0.0.0.0:9650";

/// Where the running config came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOrigin {
    File(PathBuf),
    BuiltinDefault,
}

impl fmt::Display for ConfigOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigOrigin::File(p) => write!(f, "{}", p.display()),
            ConfigOrigin::BuiltinDefault => f.write_str("built-in default"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub origin: ConfigOrigin,
    pub web: WebConfig,
    pub postgres: Vec<PostgresConfig>,
    pub pgbouncer: Vec<PgBouncerConfig>,
    pub redis: Vec<RedisConfig>,
    pub apps: Vec<AppConfig>,
    /// Endpoints the unified metrics are pushed to (`remote_write:`).
    pub remote_write: Vec<RemoteWriteConfig>,
}

/// One `remote_write[]` endpoint; see docs/remote_write.md.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteWriteConfig {
    /// Unique among the endpoints; the `remote_name` label of its self-metrics.
    pub name: String,
    /// Never log it: use `display_url`.
    pub url: Secret,
    pub display_url: String,
    pub auth: Option<HttpAuth>,
    /// Sent with every request (e.g. `X-Scope-OrgID`); values may be secrets.
    pub headers: Vec<(String, Secret)>,
    pub tls: ClientTls,
    /// Push the latest results every `interval`; `None` pushes each poll's results as
    /// soon as the poll finishes.
    pub interval: Option<Duration>,
    /// Bound on one request.
    pub timeout: Duration,
    /// Added to every series that does not have the label, sorted by name. `job` and
    /// `instance` are defaulted; a label configured empty is left out.
    pub external_labels: BTreeMap<String, String>,
    pub max_samples_per_request: usize,
    /// Samples held while the endpoint is slow or down; the oldest go first beyond it.
    pub queue_capacity: usize,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Push the exporter's own `stack_exporter_*` and `process_*` series too.
    pub self_metrics: bool,
}

pub const DEFAULT_REMOTE_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_MAX_SAMPLES_PER_REQUEST: usize = 2_000;
pub const DEFAULT_QUEUE_CAPACITY: usize = 100_000;
pub const DEFAULT_MIN_BACKOFF: Duration = Duration::from_millis(30);
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(5);
/// The `job` external label when none is configured: what a scrape job would be called.
pub const DEFAULT_REMOTE_WRITE_JOB: &str = "stack_exporter";

#[derive(Debug, Clone, PartialEq)]
pub struct WebConfig {
    pub listen_address: SocketAddr,
    /// Protects `/metrics` and the status page `/`; `/health` and `/ready` stay open
    /// for orchestrator probes.
    pub auth: Option<HttpAuth>,
    /// Connections served at once; further clients wait in the accept queue.
    pub max_connections: usize,
    /// How long a client may take to send its request headers.
    pub header_read_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HttpAuth {
    Basic { username: String, password: Secret },
    Bearer { token: Secret },
}

/// Settings every source has, with `defaults:` already applied.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceCommon {
    /// Unique across all sources; the value of the `source` label.
    pub name: String,
    pub interval: Duration,
    pub timeout: Duration,
    /// Extra labels added to every series of this source.
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PostgresConfig {
    pub common: SourceCommon,
    /// Connection URL with any `password_file` already applied. Never log it: use
    /// `display_url`.
    pub url: Secret,
    /// The URL with the password replaced by `***`.
    pub display_url: String,
    pub collectors: PostgresCollectors,
    /// SQL queries of the user's, each turned into metrics.
    pub custom_queries: Vec<CustomQuery>,
}

/// Which PostgreSQL collectors run, with their options. `Default` is the documented
/// default set.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresCollectors {
    /// `pg_stat_database_*`, database sizes, connection limits, wraparound age.
    pub database: bool,
    /// Connections by database × state, transaction ages, lock waiters, max_connections use.
    pub activity: bool,
    /// `pg_locks_count{datname,mode}`.
    pub locks: bool,
    /// `pg_stat_bgwriter` and, on PostgreSQL 17+, `pg_stat_checkpointer`.
    pub bgwriter: bool,
    /// `pg_stat_wal` (14+), WAL size, and `pg_stat_archiver`.
    pub wal: bool,
    /// Replica status, lag, `pg_stat_replication`, replication slots, WAL receiver.
    pub replication: bool,
    /// Numeric `pg_settings` as `pg_settings_<name>`.
    pub settings: bool,
    /// Postmaster start time and `pg_static`.
    pub postmaster: bool,
    /// Per-table statistics; `None` when disabled.
    pub user_tables: Option<TablesOptions>,
    /// Top statements from pg_stat_statements; `None` when disabled.
    pub statements: Option<StatementsOptions>,
    /// TimescaleDB hypertables and background jobs in the URL's database; reports
    /// nothing (and succeeds) where the extension is not installed.
    pub timescaledb: bool,
}

impl Default for PostgresCollectors {
    fn default() -> Self {
        PostgresCollectors {
            database: true,
            activity: true,
            locks: true,
            bgwriter: true,
            wal: true,
            replication: true,
            settings: true,
            postmaster: true,
            user_tables: Some(TablesOptions::default()),
            statements: Some(StatementsOptions::default()),
            timescaledb: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TablesOptions {
    /// Databases whose tables are reported; empty means every database that allows
    /// connections, except templates and `exclude_databases`.
    pub databases: Vec<String>,
    pub exclude_databases: Vec<String>,
    /// At most this many databases are visited per poll (one connection each).
    pub max_databases: usize,
    /// At most this many tables per database, largest first, to bound cardinality.
    pub max_tables: usize,
}

impl Default for TablesOptions {
    fn default() -> Self {
        TablesOptions {
            databases: Vec::new(),
            exclude_databases: Vec::new(),
            max_databases: 10,
            max_tables: 200,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatementsOptions {
    /// Statements reported, the top ones by total execution time.
    pub limit: usize,
    /// Adds the (truncated) query text as a label; off by default because query text
    /// can carry literal values.
    pub query_text: bool,
    pub query_text_max_length: usize,
}

impl Default for StatementsOptions {
    fn default() -> Self {
        StatementsOptions {
            limit: 100,
            query_text: false,
            query_text_max_length: 120,
        }
    }
}

/// A user-defined query: each row gives one sample per value column, labelled by the
/// label columns.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomQuery {
    /// Metric name prefix: each value column `c` becomes `<name>_<c>`.
    pub name: String,
    pub sql: String,
    pub help: String,
    /// Columns whose text becomes label values.
    pub labels: Vec<String>,
    /// Columns whose numeric value becomes a sample.
    pub values: Vec<CustomValue>,
    /// Run at most this often (a multiple of the source's interval in effect); `None`
    /// means every poll.
    pub interval: Option<Duration>,
    /// Bound on this query alone; at most the source's timeout.
    pub timeout: Duration,
    /// Run against this database instead of the one in the URL.
    pub database: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomValue {
    pub column: String,
    pub kind: CustomValueKind,
    /// Overrides the query's help for this column.
    pub help: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomValueKind {
    Gauge,
    Counter,
}

/// A PgBouncer admin console: a PostgreSQL URL whose database is `pgbouncer`.
#[derive(Debug, Clone, PartialEq)]
pub struct PgBouncerConfig {
    pub common: SourceCommon,
    /// Connection URL with any `password_file` already applied. Never log it: use
    /// `display_url`.
    pub url: Secret,
    pub display_url: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RedisConfig {
    pub common: SourceCommon,
    /// `redis://`, `rediss://`, `valkey://` or `valkeys://` URL with any `password_file`
    /// already applied. Never log it: use `display_url`.
    pub url: Secret,
    pub display_url: String,
    /// `check_keys`, `check_streams`, `key_checks` and `queues`.
    pub key_checks: RedisKeyChecks,
    /// TLS settings for `rediss://` / `valkeys://`; all unset means Mozilla's roots.
    pub tls: ClientTls,
}

/// `redis[].tls`: files already checked readable and parseable by validation, paths
/// resolved against the config file's directory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientTls {
    /// PEM CA certificates to trust instead of the built-in Mozilla roots.
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM chain) and its unencrypted key, always set together.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Accept any server certificate: encryption without authentication of the server.
    pub insecure_skip_verify: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AppConfig {
    pub common: SourceCommon,
    /// The app's own Prometheus endpoints, re-exposed with our labels added.
    pub metrics: Vec<MetricsTarget>,
    pub scrape: ScrapeLimits,
    /// Redirects followed per request (scrapes and probes); 0 follows none.
    pub max_redirects: usize,
    pub tls: ClientTls,
    /// Sent with every request of this app (scrapes and probes).
    pub auth: Option<HttpAuth>,
    pub probes: Vec<ProbeConfig>,
    /// Where the standard per-app series come from (`apps[].signals`); see
    /// `sources::http::signals`.
    pub signals: SignalsConfig,
}

/// `apps[].signals`, validated (also when the block is absent: then everything is
/// detected). A part left `None` is detected when `detect` is on.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalsConfig {
    pub latency: LatencySignal,
    pub requests: RequestsSignal,
    pub queues: Vec<QueueSignal>,
    /// App gauges re-exposed under one standard name (`stack_app_gauge{gauge}`).
    pub gauges: Vec<GaugeSignal>,
    /// The exporter's own requests to the app, left out of the derived signals.
    pub own_requests: OwnRequests,
    /// Fill what is not configured from the documented list of common names.
    pub detect: bool,
}

/// The app's latency histogram and the threshold its slow requests are counted above.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySignal {
    /// A family name, no `_bucket`; `None` is detected.
    pub histogram: Option<String>,
    /// `None`: taken from the family's UNIT or name suffix at poll time.
    pub unit: Option<TimeUnit>,
    /// Requests slower than this are "slow" (`stack_slow_requests_total`); detection
    /// prefers the histogram that can resolve it.
    pub threshold: Duration,
}

impl LatencySignal {
    /// The threshold of the shipped latency alert's SLO (p95 under 50 ms).
    pub const DEFAULT_THRESHOLD: Duration = Duration::from_millis(50);
}

/// Which requests to the app are the exporter's own (its scrapes of `metrics_url` and
/// its probes of the same host) or otherwise not the app's traffic, recognised by the
/// route label the app's instrumentation puts on each series (see
/// `sources::http::signals::ROUTE_LABELS`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OwnRequests {
    /// URL paths the exporter requests (`/metrics`, `/health`), from the config.
    pub paths: Vec<String>,
    /// `signals.exclude_routes`: route label values left out as they are written.
    pub routes: Vec<String>,
}

/// `signals.gauges[]`: one of the app's gauges, summed over its labels, as
/// `stack_app_gauge{gauge="<name>"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeSignal {
    pub gauge: String,
    /// The `gauge` label value; the gauge's own name unless configured.
    pub name: String,
}

/// The unit of an app's latency histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Seconds,
    Milliseconds,
    Microseconds,
}

impl TimeUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeUnit::Seconds => "s",
            TimeUnit::Milliseconds => "ms",
            TimeUnit::Microseconds => "us",
        }
    }

    /// How many decimal places a value moves to become seconds.
    pub fn decimal_shift(self) -> i32 {
        match self {
            TimeUnit::Seconds => 0,
            TimeUnit::Milliseconds => 3,
            TimeUnit::Microseconds => 6,
        }
    }
}

/// The app's request counter and how to read its status label.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestsSignal {
    /// As configured, with or without `_total`; `None` is detected.
    pub counter: Option<String>,
    /// `None` is detected from the documented list.
    pub status_label: Option<String>,
    /// Which status values count as errors.
    pub errors: StatusMatcher,
}

/// A regular expression matched against a whole status label value.
#[derive(Debug, Clone)]
pub struct StatusMatcher {
    /// As written in the config, for `--check-config` and the status page.
    pub pattern: String,
    /// `pattern` anchored at both ends. `None` only for a pattern that did not compile,
    /// in a config that failed validation and is never used.
    regex: Option<regex::Regex>,
}

impl StatusMatcher {
    pub const DEFAULT_ERRORS: &'static str = "5..";

    /// Compiles `pattern` as a full match (`5..` matches `503`, not `1503`); the error
    /// is the regex crate's message.
    pub fn new(pattern: &str, size_limit: usize) -> Result<StatusMatcher, String> {
        regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
            .size_limit(size_limit)
            .build()
            .map(|regex| StatusMatcher {
                pattern: pattern.to_owned(),
                regex: Some(regex),
            })
            .map_err(|e| e.to_string())
    }

    /// Stands in for a pattern that failed to compile, so that validation can go on
    /// collecting problems; it matches nothing.
    pub(crate) fn invalid(pattern: String) -> StatusMatcher {
        StatusMatcher {
            pattern,
            regex: None,
        }
    }

    pub fn is_match(&self, status: &str) -> bool {
        self.regex.as_ref().is_some_and(|r| r.is_match(status))
    }
}

impl PartialEq for StatusMatcher {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

/// One app gauge reported as `stack_queue_depth{queue,state,library="app"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSignal {
    pub gauge: String,
    pub queue: QueueName,
    /// The `state` label; default `waiting`.
    pub state: String,
}

/// Where the `queue` label of a queue gauge comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueName {
    /// The value of this label of the gauge's series (summed over its other labels).
    Label(String),
    /// This fixed name (the gauge's series summed).
    Fixed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricsTarget {
    pub url: Secret,
    pub display_url: String,
    /// The `target` label, set only when an app has more than one `metrics_url`, so
    /// that equal series from two endpoints stay apart.
    pub target_label: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrapeLimits {
    /// Bytes of one response body after decompression.
    pub max_body_size: u64,
    /// Series of one response; 0 means no limit.
    pub sample_limit: usize,
}

/// `16MiB` for a whole number of MiB, `1500KiB`, else bytes: how sizes are written in
/// the config, so messages can be pasted back.
pub fn fmt_byte_size(n: u64) -> String {
    match n {
        0 => "0".to_owned(),
        n if n % (1 << 30) == 0 => format!("{}GiB", n >> 30),
        n if n % (1 << 20) == 0 => format!("{}MiB", n >> 20),
        n if n % (1 << 10) == 0 => format!("{}KiB", n >> 10),
        n => n.to_string(),
    }
}

pub const DEFAULT_MAX_BODY_SIZE: u64 = 16 << 20;
pub const DEFAULT_SAMPLE_LIMIT: usize = 100_000;
pub const DEFAULT_MAX_REDIRECTS: usize = 10;

#[derive(Debug, Clone, PartialEq)]
pub struct ProbeConfig {
    /// The `probe` label; defaults to the URL without credentials.
    pub name: String,
    pub url: Secret,
    pub display_url: String,
    pub method: String,
    pub headers: Vec<(String, Secret)>,
    /// Request body, for POST/PUT/PATCH health endpoints.
    pub body: Option<String>,
    /// Status codes that count as success; empty means any 2xx.
    pub expected_status: Vec<u16>,
    /// The body must match this.
    pub body_regex: Option<BodyRegex>,
    /// The body must not match this.
    pub body_not_regex: Option<BodyRegex>,
    pub json_checks: Vec<JsonCheck>,
    pub json_services: Option<JsonServices>,
    pub json_values: Vec<JsonValue>,
}

impl ProbeConfig {
    /// Whether the body must be read as JSON.
    pub fn wants_json(&self) -> bool {
        !self.json_checks.is_empty() || self.json_services.is_some() || !self.json_values.is_empty()
    }
}

/// A compiled regular expression that compares by its source text.
#[derive(Debug, Clone)]
pub struct BodyRegex(pub regex::bytes::Regex);

impl PartialEq for BodyRegex {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct JsonCheck {
    /// RFC 6901 JSON pointer, e.g. `/status`.
    pub pointer: String,
    /// Compared with a JSON string as is, with a number numerically, with a boolean or
    /// null by its JSON spelling.
    pub equals: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JsonServices {
    pub pointer: String,
    pub status_field: String,
    /// Status values (case-insensitive) that mean up.
    pub up_values: Vec<String>,
    pub latency_field: Option<String>,
    /// `s`, `ms`, `us` or `ns`: the unit of the latency field.
    pub latency_unit: &'static str,
    /// Seconds per unit of the latency field.
    pub latency_scale: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JsonValue {
    pub pointer: String,
    pub metric: String,
    pub help: String,
    pub scale: f64,
}

impl Config {
    /// Every source's common settings, in config order: postgres, pgbouncer, redis, apps.
    pub fn sources(&self) -> impl Iterator<Item = &SourceCommon> {
        self.postgres
            .iter()
            .map(|p| &p.common)
            .chain(self.pgbouncer.iter().map(|p| &p.common))
            .chain(self.redis.iter().map(|r| &r.common))
            .chain(self.apps.iter().map(|a| &a.common))
    }

    /// Every secret value in the config, so that logs and error text can be scrubbed of
    /// them even where a driver echoes one back.
    pub fn secret_values(&self) -> Vec<String> {
        let mut out = Vec::new();
        let auths = std::iter::once(&self.web.auth)
            .chain(self.apps.iter().map(|a| &a.auth))
            .chain(self.remote_write.iter().map(|r| &r.auth));
        for auth in auths {
            match auth {
                Some(HttpAuth::Basic { password, .. }) => out.push(password.expose().to_owned()),
                Some(HttpAuth::Bearer { token }) => out.push(token.expose().to_owned()),
                None => {}
            }
        }
        for url in self
            .postgres
            .iter()
            .map(|p| &p.url)
            .chain(self.pgbouncer.iter().map(|p| &p.url))
            .chain(self.redis.iter().map(|r| &r.url))
            .chain(
                self.apps
                    .iter()
                    .flat_map(|a| a.probes.iter().map(|p| &p.url)),
            )
            .chain(
                self.apps
                    .iter()
                    .flat_map(|a| a.metrics.iter().map(|m| &m.url)),
            )
            .chain(self.remote_write.iter().map(|r| &r.url))
        {
            out.extend(crate::redact::url_secrets(url.expose()));
        }
        for app in &self.apps {
            for probe in &app.probes {
                out.extend(probe.headers.iter().map(|(_, v)| v.expose().to_owned()));
            }
        }
        for remote in &self.remote_write {
            out.extend(remote.headers.iter().map(|(_, v)| v.expose().to_owned()));
        }
        out.retain(|s| !s.is_empty());
        out
    }
}
