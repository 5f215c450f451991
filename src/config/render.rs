//! The effective config as YAML for `--check-config`, safe to paste into a ticket.

use serde::Serialize;

use super::secret::REDACTED;
use super::validate::fmt_duration;
use super::{
    AppConfig, ClientTls, Config, CustomQuery, CustomValueKind, HttpAuth, PostgresCollectors,
    PostgresConfig, ProbeConfig, QueueName, RedisConfig, RemoteWriteConfig, SignalsConfig,
    SourceCommon,
};
use std::collections::BTreeMap;

// Mirrors of the config types holding only printable values: secrets never enter these
// structs, so nothing added later to a view can leak by accident.

#[derive(Serialize)]
struct View<'a> {
    web: WebView,
    postgres: Vec<PostgresView<'a>>,
    // Left out when empty, so configs without PgBouncer print as they always did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pgbouncer: Vec<UrlSourceView<'a>>,
    redis: Vec<RedisView<'a>>,
    apps: Vec<AppView<'a>>,
    // Left out when empty, so configs without remote write print as they always did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    remote_write: Vec<RemoteWriteView<'a>>,
}

#[derive(Serialize)]
struct RemoteWriteView<'a> {
    name: &'a str,
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    basic_auth: Option<BasicAuthView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bearer_token: Option<&'static str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<&'a str, &'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<ClientTlsView>,
    // Left out when unset (push after each poll), so the output reads back the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<String>,
    timeout: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    external_labels: &'a BTreeMap<String, String>,
    max_samples_per_request: usize,
    queue_capacity: usize,
    min_backoff: String,
    max_backoff: String,
    self_metrics: bool,
}

fn remote_write(r: &RemoteWriteConfig) -> RemoteWriteView<'_> {
    let (basic_auth, bearer_token) = auth_views(&r.auth);
    RemoteWriteView {
        name: &r.name,
        url: &r.display_url,
        basic_auth,
        bearer_token,
        headers: (r.headers.iter())
            .map(|(k, _)| (k.as_str(), REDACTED))
            .collect(),
        tls: client_tls(&r.tls),
        interval: r.interval.map(fmt_duration),
        timeout: fmt_duration(r.timeout),
        external_labels: &r.external_labels,
        max_samples_per_request: r.max_samples_per_request,
        queue_capacity: r.queue_capacity,
        min_backoff: fmt_duration(r.min_backoff),
        max_backoff: fmt_duration(r.max_backoff),
        self_metrics: r.self_metrics,
    }
}

// Key checks are shown only when some are configured, so that other Redis sources print
// as they always did; when shown, every bound is listed with its effective value.
#[derive(Serialize)]
struct RedisView<'a> {
    #[serde(flatten)]
    source: UrlSourceView<'a>,
    // Left out when nothing is set, so plain-TCP sources print as they always did. The
    // file paths are not secrets (the files' contents never enter the view).
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<ClientTlsView>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    check_keys: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    check_streams: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_checks: Option<KeyChecksView>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    queues: Vec<QueueView<'a>>,
}

#[derive(Serialize)]
struct KeyChecksView {
    max_keys: usize,
    scan_count: usize,
    time_budget: String,
    report_missing: bool,
}

#[derive(Serialize)]
struct QueueView<'a> {
    library: &'static str,
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    prefix: &'a str,
}

fn redis(r: &RedisConfig) -> RedisView<'_> {
    let checks = &r.key_checks;
    let o = &checks.options;
    RedisView {
        source: url_source(&r.common, &r.display_url),
        tls: client_tls(&r.tls),
        check_keys: checks.keys.iter().map(|k| k.to_config_text()).collect(),
        check_streams: checks.streams.iter().map(|k| k.to_config_text()).collect(),
        key_checks: (!checks.keys.is_empty() || !checks.streams.is_empty()).then(|| {
            KeyChecksView {
                max_keys: o.max_keys,
                scan_count: o.scan_count,
                time_budget: fmt_duration(o.time_budget),
                report_missing: o.report_missing,
            }
        }),
        queues: (checks.queues.iter())
            .map(|q| QueueView {
                library: q.library.as_str(),
                name: &q.name,
                prefix: &q.prefix,
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct WebView {
    listen_address: String,
    max_connections: usize,
    header_read_timeout: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    basic_auth: Option<BasicAuthView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bearer_token: Option<&'static str>,
}

#[derive(Serialize)]
struct BasicAuthView {
    username: String,
    password: &'static str,
}

#[derive(Serialize)]
struct UrlSourceView<'a> {
    name: &'a str,
    url: &'a str,
    interval: String,
    timeout: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct ClientTlsView {
    #[serde(skip_serializing_if = "Option::is_none")]
    ca_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cert_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_file: Option<String>,
    insecure_skip_verify: bool,
}

fn client_tls(tls: &ClientTls) -> Option<ClientTlsView> {
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    (*tls != ClientTls::default()).then(|| ClientTlsView {
        ca_file: path(&tls.ca_file),
        cert_file: path(&tls.cert_file),
        key_file: path(&tls.key_file),
        insecure_skip_verify: tls.insecure_skip_verify,
    })
}

#[derive(Serialize)]
struct PostgresView<'a> {
    #[serde(flatten)]
    source: UrlSourceView<'a>,
    collectors: CollectorsView<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    custom_queries: Vec<CustomQueryView<'a>>,
}

// Every collector is listed, disabled ones as `enabled: false`, so the output shows the
// full effective set and can be fed back in as a config unchanged.
#[derive(Serialize)]
struct CollectorsView<'a> {
    database: Enabled,
    activity: Enabled,
    locks: Enabled,
    bgwriter: Enabled,
    wal: Enabled,
    replication: Enabled,
    settings: Enabled,
    postmaster: Enabled,
    user_tables: TablesView<'a>,
    statements: StatementsView,
    timescaledb: Enabled,
}

#[derive(Serialize)]
struct Enabled {
    enabled: bool,
}

#[derive(Serialize)]
struct TablesView<'a> {
    enabled: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    databases: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    exclude_databases: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    max_databases: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tables: Option<usize>,
}

#[derive(Serialize)]
struct StatementsView {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_text: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_text_max_length: Option<usize>,
}

// The SQL is shown: it is part of what the config means, and not a secret.
#[derive(Serialize)]
struct CustomQueryView<'a> {
    name: &'a str,
    help: &'a str,
    sql: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    labels: &'a [String],
    values: Vec<CustomValueView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<String>,
    timeout: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<&'a str>,
}

#[derive(Serialize)]
struct CustomValueView<'a> {
    column: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
}

fn collectors(c: &PostgresCollectors) -> CollectorsView<'_> {
    let on = |enabled: bool| Enabled { enabled };
    let tables = c.user_tables.as_ref();
    let statements = c.statements.as_ref();
    CollectorsView {
        database: on(c.database),
        activity: on(c.activity),
        locks: on(c.locks),
        bgwriter: on(c.bgwriter),
        wal: on(c.wal),
        replication: on(c.replication),
        settings: on(c.settings),
        postmaster: on(c.postmaster),
        user_tables: TablesView {
            enabled: tables.is_some(),
            databases: tables.map_or(&[], |t| &t.databases),
            exclude_databases: tables.map_or(&[], |t| &t.exclude_databases),
            max_databases: tables.map(|t| t.max_databases),
            max_tables: tables.map(|t| t.max_tables),
        },
        statements: StatementsView {
            enabled: statements.is_some(),
            limit: statements.map(|s| s.limit),
            query_text: statements.map(|s| s.query_text),
            query_text_max_length: statements.map(|s| s.query_text_max_length),
        },
        timescaledb: on(c.timescaledb),
    }
}

fn custom_query(q: &CustomQuery) -> CustomQueryView<'_> {
    CustomQueryView {
        name: &q.name,
        help: &q.help,
        sql: &q.sql,
        labels: &q.labels,
        values: (q.values.iter())
            .map(|v| CustomValueView {
                column: &v.column,
                kind: match v.kind {
                    CustomValueKind::Gauge => "gauge",
                    CustomValueKind::Counter => "counter",
                },
                help: v.help.as_deref(),
            })
            .collect(),
        interval: q.interval.map(fmt_duration),
        timeout: fmt_duration(q.timeout),
        database: q.database.as_deref(),
    }
}

fn postgres(p: &PostgresConfig) -> PostgresView<'_> {
    PostgresView {
        source: url_source(&p.common, &p.display_url),
        collectors: collectors(&p.collectors),
        custom_queries: p.custom_queries.iter().map(custom_query).collect(),
    }
}

#[derive(Serialize)]
struct AppView<'a> {
    name: &'a str,
    interval: String,
    timeout: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    metrics_url: Vec<&'a str>,
    scrape: ScrapeView,
    max_redirects: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<ClientTlsView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    basic_auth: Option<BasicAuthView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bearer_token: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    probes: Vec<ProbeView<'a>>,
    // Only for apps with a metrics_url, the input of signals.
    #[serde(skip_serializing_if = "Option::is_none")]
    signals: Option<SignalsView<'a>>,
}

// Parts left to detection are left out; `detect` and the error pattern always show.
#[derive(Serialize)]
struct SignalsView<'a> {
    latency: LatencyView<'a>,
    requests: RequestsView<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    queues: Vec<QueueSignalView<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    gauges: Vec<GaugeSignalView<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    exclude_routes: &'a [String],
    /// Derived from the app's URLs, so that `--check-config` shows what the signals
    /// will leave out.
    own_request_paths: &'a [String],
    detect: bool,
}

#[derive(Serialize)]
struct LatencyView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    histogram: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<&'static str>,
    threshold: String,
}

#[derive(Serialize)]
struct GaugeSignalView<'a> {
    gauge: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct RequestsView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    counter: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_label: Option<&'a str>,
    errors: &'a str,
}

#[derive(Serialize)]
struct QueueSignalView<'a> {
    gauge: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue: Option<&'a str>,
    state: &'a str,
}

fn signals(s: &SignalsConfig) -> SignalsView<'_> {
    SignalsView {
        latency: LatencyView {
            histogram: s.latency.histogram.as_deref(),
            unit: s.latency.unit.map(|u| u.as_str()),
            threshold: humantime::format_duration(s.latency.threshold).to_string(),
        },
        requests: RequestsView {
            counter: s.requests.counter.as_deref(),
            status_label: s.requests.status_label.as_deref(),
            errors: &s.requests.errors.pattern,
        },
        queues: (s.queues.iter())
            .map(|q| {
                let (queue_label, queue) = match &q.queue {
                    QueueName::Label(l) => (Some(l.as_str()), None),
                    QueueName::Fixed(n) => (None, Some(n.as_str())),
                };
                QueueSignalView {
                    gauge: &q.gauge,
                    queue_label,
                    queue,
                    state: &q.state,
                }
            })
            .collect(),
        gauges: (s.gauges.iter())
            .map(|g| GaugeSignalView {
                gauge: &g.gauge,
                name: &g.name,
            })
            .collect(),
        exclude_routes: &s.own_requests.routes,
        own_request_paths: &s.own_requests.paths,
        detect: s.detect,
    }
}

#[derive(Serialize)]
struct ScrapeView {
    max_body_size: String,
    sample_limit: usize,
}

#[derive(Serialize)]
struct ProbeView<'a> {
    name: &'a str,
    url: &'a str,
    method: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<&'a str, &'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    #[serde(skip_serializing_if = "<[u16]>::is_empty")]
    expected_status: &'a [u16],
    #[serde(skip_serializing_if = "Option::is_none")]
    body_regex: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_not_regex: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    json: Vec<JsonCheckView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    json_services: Option<JsonServicesView<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    json_values: Vec<JsonValueView<'a>>,
}

#[derive(Serialize)]
struct JsonCheckView<'a> {
    pointer: &'a str,
    equals: &'a str,
}

#[derive(Serialize)]
struct JsonServicesView<'a> {
    pointer: &'a str,
    status_field: &'a str,
    up_values: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_field: Option<&'a str>,
    latency_unit: &'static str,
}

#[derive(Serialize)]
struct JsonValueView<'a> {
    pointer: &'a str,
    metric: &'a str,
    help: &'a str,
    scale: f64,
}

fn auth_views(auth: &Option<HttpAuth>) -> (Option<BasicAuthView>, Option<&'static str>) {
    match auth {
        Some(HttpAuth::Basic { username, .. }) => (
            Some(BasicAuthView {
                username: username.clone(),
                password: REDACTED,
            }),
            None,
        ),
        Some(HttpAuth::Bearer { .. }) => (None, Some(REDACTED)),
        None => (None, None),
    }
}

fn app(a: &AppConfig) -> AppView<'_> {
    let (basic_auth, bearer_token) = auth_views(&a.auth);
    AppView {
        name: &a.common.name,
        interval: fmt_duration(a.common.interval),
        timeout: fmt_duration(a.common.timeout),
        labels: &a.common.labels,
        metrics_url: a.metrics.iter().map(|m| m.display_url.as_str()).collect(),
        scrape: ScrapeView {
            max_body_size: super::fmt_byte_size(a.scrape.max_body_size),
            sample_limit: a.scrape.sample_limit,
        },
        max_redirects: a.max_redirects,
        tls: client_tls(&a.tls),
        basic_auth,
        bearer_token,
        probes: a.probes.iter().map(probe).collect(),
        signals: (!a.metrics.is_empty()).then(|| signals(&a.signals)),
    }
}

fn probe(p: &ProbeConfig) -> ProbeView<'_> {
    ProbeView {
        name: &p.name,
        url: &p.display_url,
        method: &p.method,
        headers: p
            .headers
            .iter()
            .map(|(k, _)| (k.as_str(), REDACTED))
            .collect(),
        body: p.body.as_deref(),
        expected_status: &p.expected_status,
        body_regex: p.body_regex.as_ref().map(|r| r.0.as_str()),
        body_not_regex: p.body_not_regex.as_ref().map(|r| r.0.as_str()),
        json: (p.json_checks.iter())
            .map(|c| JsonCheckView {
                pointer: &c.pointer,
                equals: &c.equals,
            })
            .collect(),
        json_services: p.json_services.as_ref().map(|s| JsonServicesView {
            pointer: &s.pointer,
            status_field: &s.status_field,
            up_values: &s.up_values,
            latency_field: s.latency_field.as_deref(),
            latency_unit: s.latency_unit,
        }),
        json_values: (p.json_values.iter())
            .map(|v| JsonValueView {
                pointer: &v.pointer,
                metric: &v.metric,
                help: &v.help,
                scale: v.scale,
            })
            .collect(),
    }
}

fn url_source<'a>(common: &'a SourceCommon, display_url: &'a str) -> UrlSourceView<'a> {
    UrlSourceView {
        name: &common.name,
        url: display_url,
        interval: fmt_duration(common.interval),
        timeout: fmt_duration(common.timeout),
        labels: &common.labels,
    }
}

impl Config {
    /// The effective config (defaults applied) as YAML, with URLs shown without their
    /// passwords and every secret replaced by `<redacted>`.
    pub fn to_redacted_yaml(&self) -> String {
        let web = &self.web;
        let view = View {
            web: WebView {
                listen_address: web.listen_address.to_string(),
                max_connections: web.max_connections,
                header_read_timeout: fmt_duration(web.header_read_timeout),
                basic_auth: auth_views(&web.auth).0,
                bearer_token: auth_views(&web.auth).1,
            },
            postgres: self.postgres.iter().map(postgres).collect(),
            pgbouncer: (self.pgbouncer.iter())
                .map(|p| url_source(&p.common, &p.display_url))
                .collect(),
            redis: self.redis.iter().map(redis).collect(),
            apps: self.apps.iter().map(app).collect(),
            remote_write: self.remote_write.iter().map(remote_write).collect(),
        };
        let body = serde_yaml::to_string(&view)
            .unwrap_or_else(|e| format!("# cannot render the config as YAML: {e}\n"));
        format!("# effective configuration from {}\n{body}", self.origin)
    }
}
