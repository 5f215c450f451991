//! Validation of `apps[]`: metrics endpoints, scrape limits, the HTTP client settings
//! (TLS, auth, redirects) and probes with their body and JSON checks; `signals` is in
//! `signals.rs`.

use url::Url;

use super::super::schema::{
    Count, Pairs, RawApp, RawJsonCheck, RawJsonServices, RawJsonValue, RawProbe, RawScrape, Text,
};
use super::super::{
    AppConfig, BodyRegex, JsonCheck, JsonServices, JsonValue, MetricsTarget, ProbeConfig,
    ScrapeLimits, Secret, DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_REDIRECTS, DEFAULT_SAMPLE_LIMIT,
};
use super::{Builder, FieldPath};
use crate::redact::redact_url;

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/// Up to this many redirects may be configured; Go's client (Prometheus,
/// blackbox_exporter) stops at 10.
const MAX_REDIRECTS_CEILING: u64 = 30;
/// Regexes are compiled once here; this bounds the compiled program's memory.
pub(super) const REGEX_SIZE_LIMIT: usize = 1 << 20;
const DEFAULT_UP_VALUES: [&str; 6] = ["up", "ok", "healthy", "pass", "true", "available"];
/// Names our probe families use; a `json_values` metric may not take them.
const RESERVED_PREFIXES: [&str; 2] = ["probe_", "app_health_service_"];

impl Builder {
    pub(super) fn app(&mut self, raw: RawApp, p: &FieldPath) -> AppConfig {
        let common = self.common(p, raw.name, raw.interval, raw.timeout, raw.labels);
        let urls_given = raw.metrics_url.as_ref().is_some_and(|m| !m.0.is_empty());
        let metrics = self.metrics_targets(raw.metrics_url.map(|m| m.0), &p.key("metrics_url"));
        let probes_key = if raw.probes.is_some() {
            "probes"
        } else {
            "name"
        };
        let raw_probes = raw.probes.unwrap_or_default();
        if raw_probes.is_empty() && !urls_given {
            self.issue(
                p.key(probes_key),
                "an app needs at least one `metrics_url` or one probe",
            );
        }
        let scrape = self.scrape_limits(raw.scrape, &p.key("scrape"));
        let max_redirects = match raw.max_redirects {
            None => DEFAULT_MAX_REDIRECTS,
            Some(Count(n)) if n <= MAX_REDIRECTS_CEILING => n as usize,
            Some(Count(n)) => {
                self.issue(
                    p.key("max_redirects"),
                    format!("max_redirects {n} is too high; expected 0 (do not follow) to {MAX_REDIRECTS_CEILING}"),
                );
                DEFAULT_MAX_REDIRECTS
            }
        };
        let tls = match raw.tls {
            Some(t) => self.client_tls(t, &p.key("tls")),
            None => Default::default(),
        };
        let auth = self.http_auth(raw.basic_auth, raw.bearer_token, raw.bearer_token_file, p);
        let mut probes: Vec<ProbeConfig> = Vec::with_capacity(raw_probes.len());
        for (i, raw) in raw_probes.into_iter().enumerate() {
            let at = p.key("probes").index(i);
            // A defaulted name comes from the URL, so that is where to point.
            let name_key = if raw.name.is_some() { "name" } else { "url" };
            let probe = self.probe(raw, &at);
            if probes.iter().any(|q| q.name == probe.name) {
                self.issue(
                    at.key(name_key),
                    format!(
                        "duplicate probe name `{}` in this app; give each probe a distinct `name`",
                        probe.name
                    ),
                );
            }
            probes.push(probe);
        }
        let signals = self.signals(
            raw.signals,
            urls_given,
            &metrics,
            &probes,
            &p.key("signals"),
        );
        AppConfig {
            common,
            metrics,
            scrape,
            max_redirects,
            tls,
            auth,
            probes,
            signals,
        }
    }

    fn metrics_targets(&mut self, raw: Option<Vec<Text>>, p: &FieldPath) -> Vec<MetricsTarget> {
        let urls = raw.unwrap_or_default();
        let several = urls.len() > 1;
        let mut out: Vec<MetricsTarget> = Vec::with_capacity(urls.len());
        for (i, Text(url)) in urls.into_iter().enumerate() {
            let at = if several { p.index(i) } else { p.clone() };
            let url = match http_url(&url, "metrics URL", "http://127.0.0.1:8000/metrics") {
                Ok(u) => u,
                Err(m) => {
                    self.issue(at, m);
                    continue;
                }
            };
            let display_url = redact_url(&url);
            if out.iter().any(|t| t.url.expose() == url) {
                self.issue(at, format!("metrics URL `{display_url}` is listed twice"));
                continue;
            }
            out.push(MetricsTarget {
                url: Secret::new(url),
                display_url,
                target_label: None,
            });
        }
        if out.len() > 1 {
            // host:port where that tells the endpoints apart, else the whole URL.
            let short: Vec<String> = out.iter().map(|t| host_port(&t.display_url)).collect();
            let distinct = short
                .iter()
                .enumerate()
                .all(|(i, s)| !short[..i].contains(s));
            for (target, short) in out.iter_mut().zip(short) {
                target.target_label = Some(if distinct {
                    short
                } else {
                    target.display_url.clone()
                });
            }
        }
        out
    }

    fn scrape_limits(&mut self, raw: Option<RawScrape>, p: &FieldPath) -> ScrapeLimits {
        let mut limits = ScrapeLimits {
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            sample_limit: DEFAULT_SAMPLE_LIMIT,
        };
        let Some(raw) = raw else { return limits };
        if let Some(size) = raw.max_body_size {
            if size.0 < 1024 {
                self.issue(
                    p.key("max_body_size"),
                    format!(
                        "max_body_size {} is too small; expected at least 1KiB",
                        size.0
                    ),
                );
            } else {
                limits.max_body_size = size.0;
            }
        }
        if let Some(Count(n)) = raw.sample_limit {
            limits.sample_limit = usize::try_from(n).unwrap_or(usize::MAX);
        }
        limits
    }

    fn probe(&mut self, raw: RawProbe, p: &FieldPath) -> ProbeConfig {
        let url = match http_url(&raw.url.0, "probe URL", "http://127.0.0.1:8000/health") {
            Ok(u) => u,
            Err(m) => {
                self.issue(p.key("url"), m);
                String::new()
            }
        };
        let display_url = redact_url(&url);
        let name = match raw.name {
            Some(Text(n)) if n.is_empty() => {
                self.issue(p.key("name"), "probe name must not be empty");
                n
            }
            Some(Text(n)) => n,
            None => display_url.clone(),
        };
        let method = match raw.method {
            None => "GET".to_owned(),
            Some(Text(m)) => {
                let upper = m.to_ascii_uppercase();
                if !METHODS.contains(&upper.as_str()) {
                    self.issue(
                        p.key("method"),
                        format!(
                            "unsupported method `{m}`; expected one of {}",
                            METHODS.join(", ")
                        ),
                    );
                }
                upper
            }
        };
        let headers = self.headers(raw.headers.unwrap_or_default(), &p.key("headers"));
        let mut expected_status = Vec::new();
        for (i, Count(code)) in raw
            .expected_status
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            match u16::try_from(code) {
                Ok(c) if (100..=599).contains(&c) => expected_status.push(c),
                _ => self.issue(
                    p.key("expected_status").index(i),
                    format!("status code {code} is out of range; expected 100 to 599"),
                ),
            }
        }
        let body_regex = self.body_regex(raw.body_regex, &p.key("body_regex"));
        let body_not_regex = self.body_regex(raw.body_not_regex, &p.key("body_not_regex"));
        let json_checks = (raw.json.unwrap_or_default().into_iter().enumerate())
            .filter_map(|(i, c)| self.json_check(c, &p.key("json").index(i)))
            .collect();
        let json_services = raw
            .json_services
            .and_then(|s| self.json_services(s, &p.key("json_services")));
        let mut json_values: Vec<JsonValue> = Vec::new();
        for (i, v) in raw.json_values.unwrap_or_default().into_iter().enumerate() {
            let at = p.key("json_values").index(i);
            if let Some(v) = self.json_value(v, &at) {
                if json_values.iter().any(|w| w.metric == v.metric) {
                    self.issue(
                        at.key("metric"),
                        format!("metric `{}` is extracted twice in this probe", v.metric),
                    );
                }
                json_values.push(v);
            }
        }
        ProbeConfig {
            name,
            url: Secret::new(url),
            display_url,
            method,
            headers,
            body: raw.body.map(|Text(b)| b),
            expected_status,
            body_regex,
            body_not_regex,
            json_checks,
            json_services,
            json_values,
        }
    }

    fn body_regex(&mut self, raw: Option<Text>, p: &FieldPath) -> Option<BodyRegex> {
        let Text(pattern) = raw?;
        match regex::bytes::RegexBuilder::new(&pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
        {
            Ok(r) => Some(BodyRegex(r)),
            Err(e) => {
                self.issue(p.clone(), format!("invalid regular expression: {e}"));
                None
            }
        }
    }

    fn pointer(&mut self, Text(pointer): Text, p: &FieldPath) -> Option<String> {
        if pointer.is_empty() || pointer.starts_with('/') {
            Some(pointer)
        } else {
            self.issue(
                p.clone(),
                format!("invalid JSON pointer `{pointer}`; expected `` (the whole body) or a path starting with /, e.g. /status or /services/database/status"),
            );
            None
        }
    }

    fn json_check(&mut self, raw: RawJsonCheck, p: &FieldPath) -> Option<JsonCheck> {
        let pointer = self.pointer(raw.pointer, &p.key("pointer"))?;
        Some(JsonCheck {
            pointer,
            equals: raw.equals.0,
        })
    }

    fn json_services(&mut self, raw: RawJsonServices, p: &FieldPath) -> Option<JsonServices> {
        let pointer = self.pointer(raw.pointer, &p.key("pointer"));
        let (latency_unit, latency_scale) = match raw.latency_unit.as_ref().map(|t| t.0.as_str()) {
            None | Some("ms") => ("ms", 1e-3),
            Some("s") => ("s", 1.0),
            Some("us") => ("us", 1e-6),
            Some("ns") => ("ns", 1e-9),
            Some(other) => {
                self.issue(
                    p.key("latency_unit"),
                    format!("unknown latency unit `{other}`; expected s, ms, us or ns"),
                );
                ("ms", 1e-3)
            }
        };
        let up_values = match raw.up_values {
            Some(v) if v.is_empty() => {
                self.issue(p.key("up_values"), "up_values must not be empty");
                Vec::new()
            }
            Some(v) => v.into_iter().map(|Text(t)| t).collect(),
            None => DEFAULT_UP_VALUES.iter().map(|&s| s.to_owned()).collect(),
        };
        Some(JsonServices {
            pointer: pointer?,
            status_field: raw
                .status_field
                .map_or_else(|| "status".to_owned(), |t| t.0),
            up_values,
            latency_field: match raw.latency_field {
                Some(Text(f)) if f.is_empty() => None,
                Some(Text(f)) => Some(f),
                None => Some("latency".to_owned()),
            },
            latency_unit,
            latency_scale,
        })
    }

    fn json_value(&mut self, raw: RawJsonValue, p: &FieldPath) -> Option<JsonValue> {
        let pointer = self.pointer(raw.pointer, &p.key("pointer"));
        let metric = raw.metric.0;
        if !crate::model::is_valid_metric_name(&metric) || metric.contains(':') {
            self.issue(
                p.key("metric"),
                format!("invalid metric name `{metric}`; expected [a-zA-Z_][a-zA-Z0-9_]*"),
            );
            return None;
        }
        if let Some(prefix) = RESERVED_PREFIXES.iter().find(|r| metric.starts_with(*r)) {
            self.issue(
                p.key("metric"),
                format!("metric `{metric}`: names starting with `{prefix}` are the probe's own"),
            );
            return None;
        }
        let scale = raw.scale.map_or(1.0, |n| n.0);
        if !scale.is_finite() {
            self.issue(p.key("scale"), "scale must be a finite number");
        }
        let pointer = pointer?;
        Some(JsonValue {
            help: raw.help.map_or_else(
                || format!("Value at `{pointer}` of the probe's JSON body."),
                |t| t.0,
            ),
            pointer,
            metric,
            scale,
        })
    }

    pub(super) fn headers(&mut self, raw: Pairs, p: &FieldPath) -> Vec<(String, Secret)> {
        let mut out = Vec::with_capacity(raw.0.len());
        for (name, Text(value)) in raw.0 {
            let at = p.key(&name);
            if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                self.issue(at, format!("invalid HTTP header name `{name}`"));
                continue;
            }
            // The value is a secret: say what is wrong without echoing it.
            if hyper::header::HeaderValue::from_str(&value).is_err() {
                self.issue(
                    at,
                    "invalid HTTP header value; only visible ASCII, spaces and tabs are allowed",
                );
                continue;
            }
            out.push((name, Secret::new(value)));
        }
        out
    }
}

pub(super) fn http_url(raw: &str, what: &str, example: &str) -> Result<String, String> {
    let shown = redact_url(raw);
    let url = Url::parse(raw)
        .map_err(|e| format!("invalid {what} `{shown}` ({e}); expected e.g. {example}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "unsupported scheme `{}` in {what} `{shown}`; expected http:// or https://",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "{what} `{shown}` has no host; expected e.g. {example}"
        ));
    }
    Ok(raw.to_owned())
}

fn host_port(display_url: &str) -> String {
    match Url::parse(display_url) {
        Ok(u) => match (u.host_str(), u.port_or_known_default()) {
            (Some(h), Some(port)) => format!("{h}:{port}"),
            _ => display_url.to_owned(),
        },
        Err(_) => display_url.to_owned(),
    }
}
