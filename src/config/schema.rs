//! Serde structs mirroring the YAML file. Unknown fields are rejected everywhere; string,
//! number and duration fields go through `${VAR}` expansion. Cross-field rules live in
//! `validate`.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::interpolate::expand_current;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(
    expecting = "a mapping of sections such as `postgres: [...]`, `redis: [...]` or `apps: [...]`"
)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub web: Option<RawWeb>,
    #[serde(default)]
    pub defaults: Option<RawDefaults>,
    #[serde(default)]
    pub postgres: Option<Vec<RawPostgres>>,
    #[serde(default)]
    pub pgbouncer: Option<Vec<RawPgBouncer>>,
    #[serde(default)]
    pub redis: Option<Vec<RawRedis>>,
    #[serde(default)]
    pub apps: Option<Vec<RawApp>>,
    #[serde(default)]
    pub remote_write: Option<Vec<RawRemoteWrite>>,
}

/// `remote_write[]`: one Prometheus remote-write endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(
    expecting = "a remote-write endpoint: a mapping such as `{ url: http://prometheus:9090/api/v1/write }`"
)]
pub(crate) struct RawRemoteWrite {
    pub url: Text,
    pub name: Option<Text>,
    pub basic_auth: Option<RawBasicAuth>,
    pub bearer_token: Option<Text>,
    pub bearer_token_file: Option<Text>,
    pub headers: Option<Pairs>,
    pub tls: Option<RawClientTls>,
    pub interval: Option<Dur>,
    pub timeout: Option<Dur>,
    pub external_labels: Option<BTreeMap<String, Text>>,
    pub max_samples_per_request: Option<Count>,
    pub queue_capacity: Option<Count>,
    pub min_backoff: Option<Dur>,
    pub max_backoff: Option<Dur>,
    pub self_metrics: Option<Flag>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a mapping such as `{ listen_address: \":9650\" }`")]
pub(crate) struct RawWeb {
    pub listen_address: Option<Text>,
    pub max_connections: Option<Count>,
    pub header_read_timeout: Option<Dur>,
    pub basic_auth: Option<RawBasicAuth>,
    pub bearer_token: Option<Text>,
    pub bearer_token_file: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(
    expecting = "a mapping such as `{ username: exporter, password_file: /run/secrets/password }`"
)]
pub(crate) struct RawBasicAuth {
    pub username: Text,
    pub password: Option<Text>,
    pub password_file: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a mapping such as `{ interval: 15s, timeout: 5s }`")]
pub(crate) struct RawDefaults {
    pub interval: Option<Dur>,
    pub timeout: Option<Dur>,
}

// `#[serde(flatten)]` cannot be combined with `deny_unknown_fields`, so the common
// source fields are repeated in each kind.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(
    expecting = "a PostgreSQL source: a mapping such as `{ name: main, url: postgresql://user@host:5432/db }`"
)]
pub(crate) struct RawPostgres {
    pub name: Text,
    pub url: Text,
    pub password_file: Option<Text>,
    pub interval: Option<Dur>,
    pub timeout: Option<Dur>,
    pub labels: Option<BTreeMap<String, Text>>,
    pub collectors: Option<RawCollectors>,
    pub custom_queries: Option<Vec<RawCustomQuery>>,
}

/// `postgres[].collectors`: every key optional; an absent key keeps that collector's
/// default. Unknown keys are rejected, which is how a misspelt collector is reported.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(
    expecting = "a mapping of collector names to true, false or their options, such as `{ statements: false }`"
)]
pub(crate) struct RawCollectors {
    pub database: Option<Toggle<RawCollector>>,
    pub activity: Option<Toggle<RawCollector>>,
    pub locks: Option<Toggle<RawCollector>>,
    pub bgwriter: Option<Toggle<RawCollector>>,
    pub wal: Option<Toggle<RawCollector>>,
    pub replication: Option<Toggle<RawCollector>>,
    pub settings: Option<Toggle<RawCollector>>,
    pub postmaster: Option<Toggle<RawCollector>>,
    pub user_tables: Option<Toggle<RawTables>>,
    pub statements: Option<Toggle<RawStatements>>,
    pub timescaledb: Option<Toggle<RawCollector>>,
}

/// A collector without options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a mapping such as `{ enabled: true }`")]
pub(crate) struct RawCollector {
    pub enabled: Option<Flag>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a mapping such as `{ enabled: true, max_tables: 200 }`")]
pub(crate) struct RawTables {
    pub enabled: Option<Flag>,
    pub databases: Option<Vec<Text>>,
    pub exclude_databases: Option<Vec<Text>>,
    pub max_databases: Option<Count>,
    pub max_tables: Option<Count>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a mapping such as `{ enabled: true, limit: 100 }`")]
pub(crate) struct RawStatements {
    pub enabled: Option<Flag>,
    pub limit: Option<Count>,
    pub query_text: Option<Flag>,
    pub query_text_max_length: Option<Count>,
}

/// Which of its two spellings a collector was given in.
#[derive(Debug)]
pub(crate) enum Toggle<T> {
    /// `statements: false`, shorthand for `statements: { enabled: false }`.
    Bool(bool),
    Block(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Toggle<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Toggle<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false or a mapping such as `{ enabled: true }`")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Toggle::Bool(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                // The shared boolean message would hide that a mapping is accepted too.
                let text = expand_current(v).map_err(E::custom)?;
                match text.trim() {
                    "true" => Ok(Toggle::Bool(true)),
                    "false" => Ok(Toggle::Bool(false)),
                    other => Err(E::custom(format!(
                        "invalid value `{other}`; expected true, false or a mapping such as `{{ enabled: true }}`"
                    ))),
                }
            }
            // Handing the same MapAccess on keeps serde_path_to_error's key tracking and
            // serde_yaml's positions, so errors inside the block stay located.
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Toggle::Block)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// `postgres[].custom_queries[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(
    expecting = "a custom query: a mapping such as `{ name: app_jobs, help: ..., sql: SELECT ..., values: [...] }`"
)]
pub(crate) struct RawCustomQuery {
    pub name: Text,
    pub help: Text,
    pub sql: Text,
    pub labels: Option<Vec<Text>>,
    // Optional here so that a missing list and an empty one get the same located
    // message from validation.
    pub values: Option<Vec<RawCustomValue>>,
    pub interval: Option<Dur>,
    pub timeout: Option<Dur>,
    pub database: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a value column: a mapping such as `{ column: connections, type: gauge }`")]
pub(crate) struct RawCustomValue {
    pub column: Text,
    // Text rather than an enum so that `${VAR}` works and the error carries our hint.
    #[serde(rename = "type")]
    pub kind: Option<Text>,
    pub help: Option<Text>,
}

/// `pgbouncer[]`: the same fields as a Redis source; only the URL's meaning differs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(
    expecting = "a PgBouncer source: a mapping such as `{ name: pooler, url: postgresql://user@host:6432/pgbouncer }`"
)]
pub(crate) struct RawPgBouncer {
    pub name: Text,
    pub url: Text,
    pub password_file: Option<Text>,
    pub interval: Option<Dur>,
    pub timeout: Option<Dur>,
    pub labels: Option<BTreeMap<String, Text>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a Redis source: a mapping such as `{ name: cache, url: redis://host:6379 }`")]
pub(crate) struct RawRedis {
    pub name: Text,
    pub url: Text,
    pub password_file: Option<Text>,
    pub tls: Option<RawClientTls>,
    pub interval: Option<Dur>,
    pub timeout: Option<Dur>,
    pub labels: Option<BTreeMap<String, Text>>,
    pub check_keys: Option<Vec<Text>>,
    pub check_streams: Option<Vec<Text>>,
    pub key_checks: Option<RawKeyChecks>,
    pub queues: Option<Vec<RawQueue>>,
}

/// `redis[].key_checks`: bounds shared by `check_keys` and `check_streams`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a mapping such as `{ max_keys: 1000, time_budget: 1s }`")]
pub(crate) struct RawKeyChecks {
    pub max_keys: Option<Count>,
    pub scan_count: Option<Count>,
    pub time_budget: Option<Dur>,
    pub report_missing: Option<Flag>,
}

/// `redis[].queues[]`: a job-library preset.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a job queue: a mapping such as `{ library: bullmq, name: emails }`")]
pub(crate) struct RawQueue {
    // Text rather than an enum so that `${VAR}` works and the error lists the libraries.
    pub library: Text,
    pub name: Text,
    pub prefix: Option<Text>,
}

/// `redis[].tls`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a mapping such as `{ ca_file: /etc/ssl/certs/ca.pem }`")]
pub(crate) struct RawClientTls {
    pub ca_file: Option<Text>,
    pub cert_file: Option<Text>,
    pub key_file: Option<Text>,
    pub insecure_skip_verify: Option<Flag>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(
    expecting = "an app: a mapping such as `{ name: api, metrics_url: http://host:8000/metrics }`"
)]
pub(crate) struct RawApp {
    pub name: Text,
    pub interval: Option<Dur>,
    pub timeout: Option<Dur>,
    pub labels: Option<BTreeMap<String, Text>>,
    pub metrics_url: Option<OneOrMany>,
    pub scrape: Option<RawScrape>,
    pub max_redirects: Option<Count>,
    pub tls: Option<RawClientTls>,
    pub basic_auth: Option<RawBasicAuth>,
    pub bearer_token: Option<Text>,
    pub bearer_token_file: Option<Text>,
    pub probes: Option<Vec<RawProbe>>,
    pub signals: Option<RawSignals>,
}

/// `apps[].signals`: which of the app's own metrics the standard series
/// (`stack_request_duration_seconds`, `stack_requests_total`, …) are derived from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(
    expecting = "a mapping such as `{ latency: { histogram: http_request_duration_seconds }, detect: true }`"
)]
pub(crate) struct RawSignals {
    pub latency: Option<RawLatencySignal>,
    pub requests: Option<RawRequestsSignal>,
    pub queues: Option<Vec<RawQueueSignal>>,
    pub gauges: Option<Vec<RawGaugeSignal>>,
    pub exclude_routes: Option<Vec<Text>>,
    pub detect: Option<Flag>,
}

/// `apps[].signals.latency`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(
    expecting = "a mapping such as `{ threshold: 50ms }` or `{ histogram: http_request_duration_seconds, unit: s }`"
)]
pub(crate) struct RawLatencySignal {
    pub histogram: Option<Text>,
    pub unit: Option<Text>,
    pub threshold: Option<Dur>,
}

/// `apps[].signals.requests`: every field optional; an absent counter or status label is
/// detected.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a mapping such as `{ counter: http_requests_total, status_label: code }`")]
pub(crate) struct RawRequestsSignal {
    pub counter: Option<Text>,
    pub status_label: Option<Text>,
    pub errors: Option<Text>,
}

/// `apps[].signals.queues[]`: one of the app's gauges as `stack_queue_depth`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(
    expecting = "a queue gauge: a mapping such as `{ gauge: app_jobs_waiting, queue: emails }`"
)]
pub(crate) struct RawQueueSignal {
    pub gauge: Text,
    pub queue_label: Option<Text>,
    pub queue: Option<Text>,
    pub state: Option<Text>,
}

/// `apps[].signals.gauges[]`: one of the app's gauges as `stack_app_gauge{gauge}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(
    expecting = "an app gauge: a mapping such as `{ gauge: app_active_sessions, name: active_sessions }`"
)]
pub(crate) struct RawGaugeSignal {
    pub gauge: Text,
    pub name: Option<Text>,
}

/// `apps[].scrape`: bounds on what one `metrics_url` may answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a mapping such as `{ max_body_size: 16MiB, sample_limit: 100000 }`")]
pub(crate) struct RawScrape {
    pub max_body_size: Option<ByteSize>,
    pub sample_limit: Option<Count>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a probe: a mapping such as `{ url: http://host:8000/health, name: health }`")]
pub(crate) struct RawProbe {
    pub url: Text,
    pub name: Option<Text>,
    pub method: Option<Text>,
    pub headers: Option<Pairs>,
    pub body: Option<Text>,
    pub expected_status: Option<Vec<Count>>,
    pub body_regex: Option<Text>,
    pub body_not_regex: Option<Text>,
    pub json: Option<Vec<RawJsonCheck>>,
    pub json_services: Option<RawJsonServices>,
    pub json_values: Option<Vec<RawJsonValue>>,
}

/// `probes[].json[]`: the value at `pointer` must equal `equals`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a JSON check: a mapping such as `{ pointer: /status, equals: ok }`")]
pub(crate) struct RawJsonCheck {
    pub pointer: Text,
    pub equals: Text,
}

/// `probes[].json_services`: an object of per-service objects, as most health
/// endpoints report their dependencies.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a mapping such as `{ pointer: /services }`")]
pub(crate) struct RawJsonServices {
    pub pointer: Text,
    pub status_field: Option<Text>,
    pub up_values: Option<Vec<Text>>,
    pub latency_field: Option<Text>,
    pub latency_unit: Option<Text>,
}

/// `probes[].json_values[]`: a number in the body becomes a gauge.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a mapping such as `{ pointer: /queue/depth, metric: app_queue_depth }`")]
pub(crate) struct RawJsonValue {
    pub pointer: Text,
    pub metric: Text,
    pub help: Option<Text>,
    pub scale: Option<Number>,
}

/// One string or a list of them (`metrics_url: http://…` or `metrics_url: [a, b]`).
#[derive(Debug, Default)]
pub(crate) struct OneOrMany(pub Vec<Text>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a URL or a list of URLs")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                expand_current(v)
                    .map(|t| OneOrMany(vec![Text(t)]))
                    .map_err(E::custom)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(t) = seq.next_element::<Text>()? {
                    out.push(t);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

const BYTE_SIZE_HINT: &str = "expected a number of bytes or e.g. 512KiB, 16MiB, 10MB, 1GiB";

/// A size in bytes: a whole number, or one with a decimal (`kB`, `MB`, `GB`) or binary
/// (`KiB`, `MiB`, `GiB`) unit, after `${VAR}` expansion.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ByteSize(pub u64);

pub(crate) fn parse_byte_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "kB" | "KB" | "k" | "K" => 1_000,
        "MB" | "M" => 1_000_000,
        "GB" | "G" => 1_000_000_000,
        "KiB" | "Ki" => 1 << 10,
        "MiB" | "Mi" => 1 << 20,
        "GiB" | "Gi" => 1 << 30,
        _ => return Err(format!("invalid size `{t}`; {BYTE_SIZE_HINT}")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("invalid size `{t}`; {BYTE_SIZE_HINT}"))
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a size; {BYTE_SIZE_HINT}")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom(format!("invalid size `{v}`; {BYTE_SIZE_HINT}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                let text = expand_current(v).map_err(E::custom)?;
                parse_byte_size(&text).map(ByteSize).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A scalar read as text, after `${VAR}` expansion. Numbers and booleans are accepted as
/// their YAML spelling so that `labels: { shard: 1 }` works.
pub(crate) struct Text(pub String);

// Values may be secrets (passwords, tokens, header values).
impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Text(..)")
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                expand_current(v).map(Text).map_err(E::custom)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Err(E::custom("missing value; expected a string"))
            }
        }
        d.deserialize_any(V)
    }
}

const DURATION_HINT: &str = "expected e.g. 15s, 1m30s";

/// A humantime duration (`15s`, `1m30s`, `500ms`), after `${VAR}` expansion.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a duration; {DURATION_HINT}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                let text = expand_current(v).map_err(E::custom)?;
                humantime::parse_duration(text.trim())
                    .map(Dur)
                    .map_err(|_| E::custom(format!("invalid duration `{text}`; {DURATION_HINT}")))
            }
            // A bare number is rejected rather than guessed to be seconds.
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "invalid duration `{v}` (a unit is required); {DURATION_HINT}"
                )))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "invalid duration `{v}` (a unit is required); {DURATION_HINT}"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

/// A boolean, literal or after `${VAR}` expansion (`true`/`false`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Flag(pub bool);

fn parse_flag<E: de::Error>(v: &str) -> Result<bool, E> {
    let text = expand_current(v).map_err(E::custom)?;
    match text.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(E::custom(format!(
            "invalid boolean `{other}`; expected true or false"
        ))),
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                parse_flag(v).map(Flag)
            }
        }
        d.deserialize_any(V)
    }
}

/// A non-negative whole number, literal or after `${VAR}` expansion.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Count(pub u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                Ok(Count(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                u64::try_from(v).map(Count).map_err(|_| {
                    E::custom(format!(
                        "invalid number `{v}`; expected a whole number >= 0"
                    ))
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Count, E> {
                let text = expand_current(v).map_err(E::custom)?;
                text.trim().parse::<u64>().map(Count).map_err(|_| {
                    E::custom(format!(
                        "invalid number `{text}`; expected a whole number >= 0"
                    ))
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A number (`0.001`, `1e-3`, `5`), literal or after `${VAR}` expansion.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Number(pub f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number such as 0.001")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
                let text = expand_current(v).map_err(E::custom)?;
                text.trim().parse::<f64>().map(Number).map_err(|_| {
                    E::custom(format!(
                        "invalid number `{text}`; expected a number such as 0.001"
                    ))
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A mapping kept in file order, with `${VAR}`-expanded values; used for HTTP headers,
/// where order is visible to the server and repeats are legal.
#[derive(Debug, Default)]
pub(crate) struct Pairs(pub Vec<(String, Text)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V(PhantomData<Pairs>);
        impl<'de> Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of header name to value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Text>()? {
                    out.push((k, v));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}
