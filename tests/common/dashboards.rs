//! The Grafana dashboards of `dashboards/`, read as JSON: their panels and queries, as
//! Grafana would send them, and which panels show what an alert measures.

use std::path::PathBuf;

use serde_json::Value;

use super::{try_http_get, urlencode, TempPrometheus};

/// (file in `dashboards/`, uid).
pub const DASHBOARDS: &[(&str, &str)] = &[
    ("stack-overview.json", "stack-overview"),
    ("postgres.json", "stack-postgres"),
    ("pgbouncer.json", "stack-pgbouncer"),
    ("redis.json", "stack-redis"),
    ("exporter.json", "stack-exporter"),
];

/// Panels showing what an alert measures: (dashboard uid, panel title, alert). Each must
/// draw the alert's threshold (tests/dashboards.rs) and compute the same values as the
/// alert's expression up to its comparison (tests/e2e.rs), per source.
pub const ALERT_PANELS: &[(&str, &str, &str)] = &[
    ("stack-overview", "Slow requests", "StackHighLatency"),
    ("stack-overview", "Slow request share", "StackHighLatency"),
    ("stack-overview", "Error rate", "StackHighErrorRate"),
    ("stack-overview", "Request error rate", "StackHighErrorRate"),
    ("stack-overview", "Queue backlog", "StackQueueBackup"),
    (
        "stack-overview",
        "Queue backlog (waiting)",
        "StackQueueBackup",
    ),
    (
        "stack-overview",
        "PostgreSQL connections used",
        "StackPostgresTooManyConnections",
    ),
    (
        "stack-overview",
        "Redis memory used",
        "StackRedisMemoryHigh",
    ),
    (
        "stack-postgres",
        "Connections used",
        "StackPostgresTooManyConnections",
    ),
    (
        "stack-postgres",
        "Connection usage",
        "StackPostgresTooManyConnections",
    ),
    ("stack-redis", "Memory used", "StackRedisMemoryHigh"),
    ("stack-redis", "Memory usage", "StackRedisMemoryHigh"),
    ("stack-redis", "Queue backlog (waiting)", "StackQueueBackup"),
];

pub fn dashboards_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dashboards")
}

pub fn load(file: &str) -> Value {
    let path = dashboards_dir().join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file} is not valid JSON: {e}"))
}

/// Every dashboard: (file, JSON).
pub fn all() -> Vec<(&'static str, Value)> {
    DASHBOARDS.iter().map(|(f, _)| (*f, load(f))).collect()
}

/// The dashboard with this uid.
pub fn by_uid(uid: &str) -> Value {
    let (file, _) = DASHBOARDS
        .iter()
        .find(|(_, u)| *u == uid)
        .unwrap_or_else(|| panic!("no dashboard {uid}"));
    load(file)
}

/// Every panel, the panels of collapsed rows included.
pub fn panels(d: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().into_iter().flatten() {
        out.push(p);
        for inner in p["panels"].as_array().into_iter().flatten() {
            out.push(inner);
        }
    }
    out
}

pub fn is_layout(panel: &Value) -> bool {
    matches!(panel["type"].as_str(), Some("row") | Some("text"))
}

pub fn title(panel: &Value) -> &str {
    panel["title"].as_str().unwrap_or("")
}

/// One query of a panel: (panel title, refId, expr).
pub fn queries(d: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for p in panels(d).into_iter().filter(|p| !is_layout(p)) {
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push((
                title(p).to_string(),
                t["refId"].as_str().unwrap_or("").to_string(),
                t["expr"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    out
}

/// The query as Grafana would send it with `job` and `source` at these regexes.
pub fn expand(expr: &str, job: &str, source: &str) -> String {
    expr.replace("${job}", job)
        .replace("$job", job)
        .replace("${source}", source)
        .replace("$source", source)
        .replace("$__rate_interval", "1m")
        .replace("${datasource}", "")
}

/// Sends an instant query (at `time`, Unix seconds, if given); Ok(answer) on
/// `status: success`, Err(reason) otherwise.
pub fn query_at(prom: &TempPrometheus, promql: &str, time: Option<f64>) -> Result<Value, String> {
    let mut url = format!("{}/api/v1/query?query={}", prom.url(), urlencode(promql));
    if let Some(t) = time {
        url.push_str(&format!("&time={t:.3}"));
    }
    let resp = try_http_get(&url, &[]).map_err(|e| format!("request failed: {e}"))?;
    let json: Value = serde_json::from_str(&resp.text())
        .map_err(|e| format!("HTTP {}: not JSON ({e}): {}", resp.status, resp.text()))?;
    if resp.status == 200 && json["status"] == "success" {
        Ok(json)
    } else {
        Err(format!(
            "HTTP {} {}: {}",
            resp.status, json["errorType"], json["error"]
        ))
    }
}

/// [`query_at`] now.
pub fn query(prom: &TempPrometheus, promql: &str) -> Result<Value, String> {
    query_at(prom, promql, None)
}

/// Whether an instant query's answer holds at least one sample (NaN counts: a ratio of
/// two idle counters is NaN, and Grafana shows the series).
pub fn has_data(answer: &Value) -> bool {
    match answer["data"]["resultType"].as_str() {
        Some("scalar") | Some("string") => true,
        _ => answer["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
    }
}
