//! One HTTP health probe, with blackbox_exporter's checks and `probe_*` names, plus
//! values read from a JSON health body.

use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::Method;

use crate::config::{JsonServices, ProbeConfig};
use crate::http_client::{HttpClient, Phases, Request};
use crate::redact::Scrubber;

/// Health bodies are small; reading more would only cost memory.
const MAX_BODY_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ProbeResult {
    pub success: bool,
    /// 0 when no response arrived.
    pub status: u16,
    pub duration: Duration,
    /// `Content-Length` as sent; -1 when absent, as blackbox_exporter reports it.
    pub content_length: f64,
    pub body_length: usize,
    pub redirects: usize,
    /// Some only when a response arrived: whether its connection was TLS.
    pub tls: Option<bool>,
    pub phases: Phases,
    pub cert_expiry: Option<i64>,
    /// Some when a body regex was configured: whether it made the probe fail.
    pub failed_due_to_regex: Option<bool>,
    /// Some when JSON checks were configured: whether they made the probe fail.
    pub failed_due_to_json: Option<bool>,
    /// (service, up, latency in seconds) from `json_services`.
    pub services: Vec<(String, bool, Option<f64>)>,
    /// (metric, value) from `json_values`.
    pub values: Vec<(String, f64)>,
    /// Whether the body was read as JSON: only then do `services` and `unusable` say
    /// anything about the app's health body.
    pub json_read: bool,
    /// Configured `json_services` and `json_values` pointers the body did not answer.
    pub unusable: Vec<UnusablePointer>,
    /// Why the probe failed, already scrubbed of secrets.
    pub error: Option<String>,
}

/// A configured pointer whose value the body lacks or cannot give: no series comes of
/// it, so the status page and the log say why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnusablePointer {
    /// The setting that configured it: `json_services` or `json_values`.
    pub field: &'static str,
    pub pointer: String,
    /// What is wrong and what is missing because of it, from config names and JSON types
    /// only (never body text).
    pub text: String,
}

impl ProbeResult {
    pub(crate) fn failed(duration: Duration) -> Self {
        ProbeResult {
            duration,
            content_length: -1.0,
            error: Some("probe did not finish".to_owned()),
            ..ProbeResult::default()
        }
    }
}

pub(super) async fn run(
    client: &HttpClient,
    probe: &ProbeConfig,
    deadline: Duration,
    scrubber: &Scrubber,
) -> ProbeResult {
    let started = Instant::now();
    let mut result = match tokio::time::timeout(deadline, exchange(client, probe)).await {
        Ok(r) => r,
        Err(_) => ProbeResult {
            content_length: -1.0,
            error: Some(format!(
                "no complete response within {}",
                humantime::format_duration(deadline)
            )),
            ..ProbeResult::default()
        },
    };
    result.duration = started.elapsed();
    if let Some(e) = result.error.take() {
        result.error = Some(scrubber.scrub(&format!("{}: {e}", probe.display_url)));
    }
    result.success = result.error.is_none();
    if let Some(e) = &result.error {
        tracing::debug!(probe = %probe.name, error = %e, "probe failed");
    }
    result
}

/// Sends the request and runs every check on the answer. Sets `error` for the first
/// check that failed; the metrics of later ones are still filled in.
async fn exchange(client: &HttpClient, probe: &ProbeConfig) -> ProbeResult {
    let mut result = ProbeResult {
        content_length: -1.0,
        ..ProbeResult::default()
    };
    let request = match request(probe) {
        Ok(r) => r,
        Err(e) => {
            result.error = Some(e);
            return result;
        }
    };
    let response = match client.fetch(&request).await {
        Ok(r) => r,
        Err(e) => {
            result.status = e.status;
            result.phases = e.phases;
            result.error = Some(e.message);
            return result;
        }
    };
    result.status = response.status;
    result.phases = response.phases;
    result.cert_expiry = response.earliest_cert_expiry;
    result.redirects = response.redirects;
    result.tls = Some(response.tls);
    result.body_length = response.body.len();
    result.content_length = response.content_length().map_or(-1.0, |n| n as f64);
    let fail = |result: &mut ProbeResult, why: String| {
        if result.error.is_none() {
            result.error = Some(why);
        }
    };
    if !status_ok(probe, response.status) {
        fail(
            &mut result,
            format!("unexpected status {}", response.status),
        );
    }
    let body = response.body.as_slice();
    if probe.body_regex.is_some() || probe.body_not_regex.is_some() {
        let mut regex_failed = false;
        if let Some(r) = &probe.body_regex {
            if !r.0.is_match(body) {
                regex_failed = true;
                fail(
                    &mut result,
                    format!("body does not match body_regex `{}`", r.0.as_str()),
                );
            }
        }
        if let Some(r) = &probe.body_not_regex {
            if r.0.is_match(body) {
                regex_failed = true;
                fail(
                    &mut result,
                    format!("body matches body_not_regex `{}`", r.0.as_str()),
                );
            }
        }
        result.failed_due_to_regex = Some(regex_failed);
    }
    if probe.wants_json() {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(json) => {
                result.json_read = true;
                let mut json_failed = false;
                for check in &probe.json_checks {
                    if let Err(why) = json_check(&json, &check.pointer, &check.equals) {
                        json_failed = true;
                        fail(&mut result, why);
                    }
                }
                if !probe.json_checks.is_empty() {
                    result.failed_due_to_json = Some(json_failed);
                }
                if let Some(services) = &probe.json_services {
                    match json_services(&json, services) {
                        Ok(found) => result.services = found,
                        Err(text) => result.unusable.push(UnusablePointer {
                            field: "json_services",
                            pointer: services.pointer.clone(),
                            text,
                        }),
                    }
                }
                for v in &probe.json_values {
                    match json_value(&json, &v.pointer, &v.metric) {
                        Ok(n) => result.values.push((v.metric.clone(), n * v.scale)),
                        Err(text) => result.unusable.push(UnusablePointer {
                            field: "json_values",
                            pointer: v.pointer.clone(),
                            text,
                        }),
                    }
                }
            }
            Err(e) => {
                if !probe.json_checks.is_empty() {
                    result.failed_due_to_json = Some(true);
                }
                fail(&mut result, format!("body is not valid JSON: {e}"));
            }
        }
    }
    result
}

fn request(probe: &ProbeConfig) -> Result<Request<'_>, String> {
    let method = Method::from_bytes(probe.method.as_bytes())
        .map_err(|_| format!("invalid method `{}`", probe.method))?;
    let mut headers = Vec::with_capacity(probe.headers.len());
    for (name, value) in &probe.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name `{name}`"))?;
        let mut value = HeaderValue::from_str(value.expose())
            .map_err(|_| format!("invalid value for header `{name}`"))?;
        value.set_sensitive(true);
        headers.push((name, value));
    }
    Ok(Request {
        method,
        url: probe.url.expose(),
        headers,
        body: probe.body.as_ref().map(|b| Bytes::from(b.clone())),
        max_body: MAX_BODY_BYTES,
        accept_gzip: false,
    })
}

fn status_ok(probe: &ProbeConfig, status: u16) -> bool {
    if probe.expected_status.is_empty() {
        (200..300).contains(&status)
    } else {
        probe.expected_status.contains(&status)
    }
}

fn json_check(json: &serde_json::Value, pointer: &str, equals: &str) -> Result<(), String> {
    use serde_json::Value;
    let Some(found) = json.pointer(pointer) else {
        return Err(format!("JSON body has no value at `{pointer}`"));
    };
    let matches = match found {
        Value::String(s) => s == equals,
        Value::Number(n) => match (n.as_f64(), equals.trim().parse::<f64>()) {
            (Some(a), Ok(b)) => a == b,
            _ => false,
        },
        Value::Bool(b) => equals.trim() == if *b { "true" } else { "false" },
        Value::Null => equals.trim() == "null",
        Value::Array(_) | Value::Object(_) => false,
    };
    if matches {
        Ok(())
    } else {
        Err(format!(
            "JSON value at `{pointer}` is {}, expected `{equals}`",
            shorten(&found.to_string())
        ))
    }
}

type Services = Vec<(String, bool, Option<f64>)>;

/// The services of the object at the pointer; Err says why there is none to read.
fn json_services(json: &serde_json::Value, cfg: &JsonServices) -> Result<Services, String> {
    let pointer = &cfg.pointer;
    let services = match json.pointer(pointer) {
        Some(serde_json::Value::Object(services)) => services,
        Some(other) => {
            return Err(format!(
                "the value at `{pointer}` is {}, not an object with one member per service, so no service is reported",
                json_kind(other)
            ))
        }
        None => {
            return Err(format!(
                "no value at `{pointer}` in the body, so no service is reported"
            ))
        }
    };
    Ok(services
        .iter()
        .map(|(name, service)| {
            let up = match service.get(&cfg.status_field) {
                Some(serde_json::Value::String(s)) => {
                    cfg.up_values.iter().any(|u| u.eq_ignore_ascii_case(s))
                }
                Some(serde_json::Value::Bool(b)) => *b,
                _ => false,
            };
            let latency = cfg
                .latency_field
                .as_ref()
                .and_then(|f| service.get(f))
                .and_then(json_number)
                .map(|n| n * cfg.latency_scale);
            (name.clone(), up, latency)
        })
        .collect())
}

/// The number at the pointer; Err says why there is none.
fn json_value(json: &serde_json::Value, pointer: &str, metric: &str) -> Result<f64, String> {
    match json.pointer(pointer) {
        Some(v) => json_number(v).ok_or_else(|| {
            format!(
                "the value at `{pointer}` is {}, not a number, so {metric} is not exported",
                json_kind(v)
            )
        }),
        None => Err(format!(
            "no value at `{pointer}` in the body, so {metric} is not exported"
        )),
    }
}

/// The JSON type of a value as a phrase, so that a message can say what was found
/// without quoting body text.
fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A JSON number, or a string holding one (some health endpoints quote them).
fn json_number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        serde_json::Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_checks_compare_by_json_type() {
        let body = json!({"status": "healthy", "ok": true, "n": 3, "f": 1.5, "nil": null});
        assert!(json_check(&body, "/status", "healthy").is_ok());
        assert!(json_check(&body, "/ok", "true").is_ok());
        assert!(json_check(&body, "/n", "3").is_ok());
        assert!(json_check(&body, "/n", "3.0").is_ok());
        assert!(json_check(&body, "/f", "1.5").is_ok());
        assert!(json_check(&body, "/nil", "null").is_ok());
        let e = json_check(&body, "/status", "up").unwrap_err();
        assert!(e.contains("\"healthy\"") && e.contains("`up`"), "{e}");
        let e = json_check(&body, "/missing", "x").unwrap_err();
        assert!(e.contains("no value at `/missing`"), "{e}");
        assert!(json_check(&body, "/n", "three").is_err());
    }

    #[test]
    fn services_read_status_and_latency() {
        let body = json!({"services": {
            "database": {"status": "up", "latency": 15},
            "cache": {"status": "DOWN", "latency": "250.5"},
            "queue": {"status": true},
            "odd": 3
        }});
        let cfg = JsonServices {
            pointer: "/services".into(),
            status_field: "status".into(),
            up_values: vec!["up".into()],
            latency_field: Some("latency".into()),
            latency_unit: "ms",
            latency_scale: 1e-3,
        };
        let mut got = json_services(&body, &cfg).unwrap_or_default();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            vec![
                ("cache".into(), false, Some(0.2505)),
                ("database".into(), true, Some(0.015)),
                ("odd".into(), false, None),
                ("queue".into(), true, None),
            ]
        );
        let none = JsonServices {
            pointer: "/nothing".into(),
            ..cfg.clone()
        };
        assert_eq!(
            json_services(&body, &none),
            Err("no value at `/nothing` in the body, so no service is reported".into())
        );
        let list = JsonServices {
            pointer: "/services/odd".into(),
            ..cfg
        };
        assert_eq!(
            json_services(&body, &list),
            Err("the value at `/services/odd` is a number, not an object with one member per service, so no service is reported".into())
        );
    }

    #[test]
    fn values_say_why_they_are_missing() {
        let body = json!({"queue": {"depth": 42, "name": "emails", "quoted": "7"}});
        assert_eq!(json_value(&body, "/queue/depth", "m"), Ok(42.0));
        assert_eq!(json_value(&body, "/queue/quoted", "m"), Ok(7.0));
        assert_eq!(
            json_value(&body, "/queue/size", "app_queue_size"),
            Err("no value at `/queue/size` in the body, so app_queue_size is not exported".into())
        );
        // The body's text is not quoted: only its JSON type.
        assert_eq!(
            json_value(&body, "/queue/name", "m"),
            Err(
                "the value at `/queue/name` is a string, not a number, so m is not exported".into()
            )
        );
        assert_eq!(
            json_value(&body, "/queue", "m"),
            Err("the value at `/queue` is an object, not a number, so m is not exported".into())
        );
    }
}
