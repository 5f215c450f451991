//! The Grafana dashboards in `dashboards/`: their structure (importable Classic JSON,
//! variables, every selector filtered by `$job` and `$source`, `$__rate_interval`, units,
//! alert thresholds drawn), every query accepted by a real Prometheus, and every panel
//! returning data from a real exporter polling real servers.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::test_app::TestApp;
use common::{
    free_port, pgbouncer_users, try_http_get, urlencode, wait_until, ExporterProcess,
    TempPgBouncer, TempPostgres, TempPrometheus, TempRedis,
};

/// (file in `dashboards/`, uid).
const DASHBOARDS: &[(&str, &str)] = &[
    ("stack-overview.json", "stack-overview"),
    ("postgres.json", "stack-postgres"),
    ("redis.json", "stack-redis"),
    ("exporter.json", "stack-exporter"),
];

/// The data source every panel and target uses: the `datasource` variable.
const DS_UID: &str = "${datasource}";

/// Alert thresholds that must be drawn: (dashboard uid, panel title, threshold).
const THRESHOLDS: &[(&str, &str, f64)] = &[
    ("stack-overview", "p95 latency", 0.05),
    ("stack-overview", "Request latency (p50, p95, p99)", 0.05),
    ("stack-overview", "Error rate", 0.01),
    ("stack-overview", "Request error rate", 0.01),
    ("stack-overview", "Queue backlog", 1000.0),
    ("stack-overview", "Queue backlog (waiting)", 1000.0),
    ("stack-overview", "PostgreSQL connections used", 0.8),
    ("stack-overview", "Redis memory used", 0.9),
    ("stack-postgres", "Connections used", 0.8),
    ("stack-postgres", "Connection usage", 0.8),
    ("stack-redis", "Memory used", 0.9),
    ("stack-redis", "Memory usage", 0.9),
    ("stack-redis", "Queue backlog (waiting)", 1000.0),
];

/// Panels built on the golden-signal series (`stack_request_duration_seconds`,
/// `stack_requests_total`, `stack_request_errors_total`) that the exporter does not emit
/// yet. The end-to-end test expects them to return nothing and every other panel to
/// return data; once the series exist it fails for each panel still listed here: empty
/// this list then.
const NEEDS_GOLDEN_SIGNALS: &[(&str, &str)] = &[
    ("stack-overview", "p95 latency"),
    ("stack-overview", "Error rate"),
    ("stack-overview", "Throughput"),
    ("stack-overview", "Request latency (p50, p95, p99)"),
    ("stack-overview", "Requests by status class"),
    ("stack-overview", "Request error rate"),
];

/// Series without a `source` label: the exporter's process-wide self-metrics
/// (`process_*`, `stack_exporter_build_info`, `stack_exporter_config_*`) and the series
/// Prometheus adds per target (`up`, `scrape_*`). Their selectors filter by `job` only: a
/// `source` matcher would hide them as soon as one source is selected.
fn has_no_source_label(metric: &str) -> bool {
    metric == "up"
        || metric == "stack_exporter_build_info"
        || ["process_", "stack_exporter_config_", "scrape_"]
            .iter()
            .any(|p| metric.starts_with(p))
}

fn dashboards_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dashboards")
}

fn load(file: &str) -> Value {
    let path = dashboards_dir().join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file} is not valid JSON: {e}"))
}

fn all() -> Vec<(&'static str, Value)> {
    DASHBOARDS.iter().map(|(f, _)| (*f, load(f))).collect()
}

/// Every panel, the panels of collapsed rows included.
fn panels(d: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().into_iter().flatten() {
        out.push(p);
        for inner in p["panels"].as_array().into_iter().flatten() {
            out.push(inner);
        }
    }
    out
}

fn is_layout(panel: &Value) -> bool {
    matches!(panel["type"].as_str(), Some("row") | Some("text"))
}

fn title(panel: &Value) -> &str {
    panel["title"].as_str().unwrap_or("")
}

/// One query of a panel: (panel title, refId, expr).
fn queries(d: &Value) -> Vec<(String, String, String)> {
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

fn variable<'a>(d: &'a Value, name: &str) -> Option<&'a Value> {
    d["templating"]["list"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == name)
}

/// The selector inside `label_values(<selector>, <label>)`.
fn label_values_selector(query: &str) -> Option<(&str, &str)> {
    let inner = query.strip_prefix("label_values(")?.strip_suffix(')')?;
    let (sel, label) = inner.rsplit_once(',')?;
    Some((sel.trim(), label.trim()))
}

// ---------------------------------------------------------------------------------------
// A rough PromQL scan: enough to find every vector selector and range.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Scan {
    /// (metric name, or "" for `{...}` alone; the text between the braces, if any).
    selectors: Vec<(String, Option<String>)>,
    /// The text between `[` and `]` of every range or subquery.
    ranges: Vec<String>,
}

const GROUPING: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "atan2",
    "inf",
    "nan",
    "group_left",
    "group_right",
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
];

fn skip_string(b: &[u8], start: usize) -> Result<usize, String> {
    let quote = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == b'\\' && quote != b'`' {
            i += 2;
            continue;
        }
        if b[i] == quote {
            return Ok(i + 1);
        }
        i += 1;
    }
    Err("unterminated string".into())
}

/// Index of the byte closing the bracket opened at `start`, skipping strings.
fn closing(b: &[u8], start: usize, close: u8) -> Result<usize, String> {
    let open = b[start];
    let mut depth = 0;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' | b'`' => {
                i = skip_string(b, i)?;
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(format!("unbalanced {:?}", open as char))
}

fn scan(expr: &str) -> Result<Scan, String> {
    let b = expr.as_bytes();
    let word_byte = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b':';
    let mut out = Scan::default();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' | b'`' => i = skip_string(b, i)?,
            b'[' => {
                let end = closing(b, i, b']')?;
                out.ranges.push(expr[i + 1..end].to_string());
                i = end + 1;
            }
            b'{' => {
                let end = closing(b, i, b'}')?;
                out.selectors
                    .push((String::new(), Some(expr[i + 1..end].to_string())));
                i = end + 1;
            }
            c if c.is_ascii_digit() || c == b'.' => {
                while i < b.len() && (word_byte(b[i]) || b[i] == b'.') {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b':' => {
                let start = i;
                while i < b.len() && word_byte(b[i]) {
                    i += 1;
                }
                let word = &expr[start..i];
                let mut k = i;
                while k < b.len() && b[k].is_ascii_whitespace() {
                    k += 1;
                }
                let next = b.get(k).copied();
                if GROUPING.contains(&word) && next == Some(b'(') {
                    i = closing(b, k, b')')? + 1;
                } else if next == Some(b'(') {
                    // A function or an aggregation.
                } else if next == Some(b'{') {
                    let end = closing(b, k, b'}')?;
                    out.selectors
                        .push((word.to_string(), Some(expr[k + 1..end].to_string())));
                    i = end + 1;
                } else if !KEYWORDS.contains(&word) && !GROUPING.contains(&word) {
                    out.selectors.push((word.to_string(), None));
                }
            }
            _ => i += 1,
        }
    }
    Ok(out)
}

/// The matchers of a selector, whitespace outside quotes removed.
fn matchers(inner: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in inner.chars() {
        if quoted {
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = false;
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                cur.push(c);
            }
            ',' => out.push(std::mem::take(&mut cur)),
            c if c.is_whitespace() => {}
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// What is wrong with one panel query, if anything.
fn check_expr(expr: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let scanned = match scan(expr) {
        Ok(s) => s,
        Err(e) => return vec![e],
    };
    if scanned.selectors.is_empty() {
        problems.push("no selector".to_string());
    }
    for (name, inner) in &scanned.selectors {
        let Some(inner) = inner else {
            problems.push(format!("`{name}` has no {{job, source}} filter"));
            continue;
        };
        let m = matchers(inner);
        if !m.iter().any(|m| m == r#"job=~"$job""#) {
            problems.push(format!("`{name}{{{inner}}}` lacks job=~\"$job\""));
        }
        let source = m.iter().any(|m| m == r#"source=~"$source""#);
        if has_no_source_label(name) {
            if m.iter().any(|m| m.starts_with("source")) {
                problems.push(format!(
                    "`{name}` has no source label: a source matcher would hide it"
                ));
            }
        } else if !source {
            problems.push(format!("`{name}{{{inner}}}` lacks source=~\"$source\""));
        }
    }
    for r in &scanned.ranges {
        if r != "$__rate_interval" {
            problems.push(format!("range [{r}] instead of [$__rate_interval]"));
        }
    }
    for f in ["rate(", "irate(", "increase("] {
        if expr.contains(f) && !expr.contains("[$__rate_interval]") {
            problems.push(format!("{f} without $__rate_interval"));
        }
    }
    let rest = expr
        .replace("$__rate_interval", "")
        .replace("$source", "")
        .replace("$job", "");
    if rest.contains('$') {
        problems.push("a variable other than $job, $source, $__rate_interval".into());
    }
    problems
}

/// The query as Grafana would send it with `job` and `source` at these regexes.
fn expand(expr: &str, job: &str, source: &str) -> String {
    expr.replace("${job}", job)
        .replace("$job", job)
        .replace("${source}", source)
        .replace("$source", source)
        .replace("$__rate_interval", "1m")
        .replace("${datasource}", "")
}

// ---------------------------------------------------------------------------------------
// 1. Structure
// ---------------------------------------------------------------------------------------

#[test]
fn the_selector_scan_finds_what_it_must() {
    let s = scan(r#"sum by (source, le) (rate(a{job=~"$job"}[$__rate_interval])) / on (x) group_left max by (y) (b) + c{x="{"} and time() - 1e6"#).unwrap();
    let names: Vec<&str> = s.selectors.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(s.selectors[1].1, None);
    assert_eq!(s.ranges, ["$__rate_interval"]);
    assert!(check_expr(r#"rate(a{job=~"$job", source=~"$source"}[$__rate_interval])"#).is_empty());
    assert!(!check_expr(r#"rate(a{job=~"$job"}[5m])"#).is_empty());
    assert!(!check_expr(r#"a{job=~"$job", source=~"$source"} / b"#).is_empty());
    assert!(check_expr(r#"process_open_fds{job=~"$job"}"#).is_empty());
    assert!(!check_expr(r#"process_open_fds{job=~"$job", source=~"$source"}"#).is_empty());
}

#[test]
fn dashboards_are_importable_and_every_query_is_filtered() {
    let mut problems = Vec::new();
    let mut uids = BTreeSet::new();
    let mut titles = BTreeSet::new();
    let dashboards = all();
    for (file, d) in &dashboards {
        let mut bad = |what: String| problems.push(format!("{file}: {what}"));
        let uid = d["uid"].as_str().unwrap_or("");
        let expected = DASHBOARDS.iter().find(|(f, _)| f == file).unwrap().1;
        if uid != expected {
            bad(format!("uid {uid:?}, expected {expected:?}"));
        }
        if uid.len() > 40 {
            bad("uid longer than Grafana's 40 characters".into());
        }
        if !uids.insert(uid.to_string()) {
            bad(format!("uid {uid:?} used twice"));
        }
        let t = d["title"].as_str().unwrap_or("");
        if t.is_empty() || !titles.insert(t.to_string()) {
            bad(format!("title {t:?} empty or used twice"));
        }
        if !d["schemaVersion"]
            .as_u64()
            .is_some_and(|v| (36..=41).contains(&v))
        {
            bad(format!("schemaVersion {}", d["schemaVersion"]));
        }
        if !d["id"].is_null() {
            bad("id must be null for import".into());
        }
        if d.get("__inputs").is_some() {
            bad("__inputs: dashboards use the datasource variable instead".into());
        }
        if !d["tags"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "stack_exporter"))
        {
            bad("not tagged stack_exporter".into());
        }

        // Variables.
        let ds = variable(d, "datasource");
        if !ds.is_some_and(|v| v["type"] == "datasource" && v["query"] == "prometheus") {
            bad("no `datasource` variable of type datasource, query prometheus".into());
        }
        for (name, label) in [("job", "job"), ("source", "source")] {
            let Some(v) = variable(d, name) else {
                bad(format!("no `{name}` variable"));
                continue;
            };
            if v["type"] != "query"
                || v["multi"] != true
                || v["includeAll"] != true
                || v["datasource"]["uid"] != DS_UID
            {
                bad(format!(
                    "`{name}`: want a multi-value query variable with All on ${{datasource}}"
                ));
            }
            let q = v["query"].as_str().unwrap_or("");
            match label_values_selector(q) {
                Some((sel, l)) if l == label => {
                    if name == "source" && !sel.contains(r#"{job=~"$job"}"#) {
                        bad(format!("`source` query {q:?} not filtered by $job"));
                    }
                }
                _ => bad(format!(
                    "`{name}` query {q:?} is not label_values(…, {label})"
                )),
            }
        }

        // Links to the other dashboards.
        let links = d["links"].as_array().cloned().unwrap_or_default();
        for (_, other) in DASHBOARDS.iter().filter(|(_, u)| *u != uid) {
            let linked = links.iter().any(|l| {
                l["url"]
                    .as_str()
                    .is_some_and(|u| u.starts_with(&format!("/d/{other}?")))
                    && l["keepTime"] == true
            });
            if !linked {
                bad(format!("no link to /d/{other} keeping the time range"));
            }
        }

        // Panels.
        let mut ids = BTreeSet::new();
        let mut panel_titles = BTreeSet::new();
        for p in panels(d) {
            let pt = title(p);
            let mut bad = |what: String| problems.push(format!("{file}: panel {pt:?}: {what}"));
            if !p["id"].as_u64().is_some_and(|id| ids.insert(id)) {
                bad("missing or duplicate id".into());
            }
            let g = &p["gridPos"];
            let (x, w) = (g["x"].as_u64(), g["w"].as_u64());
            if !(x.is_some() && w.is_some() && g["y"].is_u64() && g["h"].is_u64())
                || x.unwrap_or(0) + w.unwrap_or(0) > 24
            {
                bad(format!("bad gridPos {g}"));
            }
            if pt.is_empty() {
                bad("no title".into());
            }
            if is_layout(p) {
                continue;
            }
            if !panel_titles.insert(pt.to_string()) {
                bad("title used twice in the dashboard".into());
            }
            if p["datasource"]["type"] != "prometheus" || p["datasource"]["uid"] != DS_UID {
                bad(format!("datasource {}", p["datasource"]));
            }
            let kind = p["type"].as_str().unwrap_or("");
            if [
                "timeseries",
                "stat",
                "gauge",
                "bargauge",
                "table",
                "state-timeline",
            ]
            .contains(&kind)
                && p["fieldConfig"]["defaults"]["unit"]
                    .as_str()
                    .is_none_or(str::is_empty)
            {
                bad(format!("{kind} panel without a unit"));
            }
            let targets = p["targets"].as_array().cloned().unwrap_or_default();
            if targets.is_empty() {
                bad("no targets".into());
            }
            let mut refs = BTreeSet::new();
            for t in &targets {
                let r = t["refId"].as_str().unwrap_or("");
                if r.is_empty() || !refs.insert(r.to_string()) {
                    bad(format!("target refId {r:?} empty or duplicate"));
                }
                if t["datasource"]["type"] != "prometheus" || t["datasource"]["uid"] != DS_UID {
                    bad(format!("target {r}: datasource {}", t["datasource"]));
                }
                let expr = t["expr"].as_str().unwrap_or("");
                if expr.trim().is_empty() {
                    bad(format!("target {r}: no expr"));
                }
                for problem in check_expr(expr) {
                    bad(format!("target {r}: {problem}: {expr}"));
                }
            }
        }
    }

    // Alert thresholds are drawn.
    for (uid, pt, value) in THRESHOLDS {
        let (_, d) = dashboards.iter().find(|(_, d)| d["uid"] == *uid).unwrap();
        let Some(p) = panels(d).into_iter().find(|p| title(p) == *pt) else {
            problems.push(format!("{uid}: no panel {pt:?}"));
            continue;
        };
        let defaults = &p["fieldConfig"]["defaults"];
        let drawn = defaults["thresholds"]["steps"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["value"].as_f64() == Some(*value)));
        let visible = p["type"] != "timeseries"
            || defaults["custom"]["thresholdsStyle"]["mode"]
                .as_str()
                .is_some_and(|m| m != "off");
        if !drawn || !visible {
            problems.push(format!(
                "{uid}: panel {pt:?} does not draw the threshold {value}"
            ));
        }
    }
    for (uid, pt) in NEEDS_GOLDEN_SIGNALS {
        let (_, d) = dashboards.iter().find(|(_, d)| d["uid"] == *uid).unwrap();
        if !panels(d).iter().any(|p| title(p) == *pt) {
            problems.push(format!(
                "NEEDS_GOLDEN_SIGNALS names {uid}/{pt:?}, which does not exist"
            ));
        }
    }

    // The README describes each of them.
    let readme = std::fs::read_to_string(dashboards_dir().join("README.md")).unwrap();
    for (file, uid) in DASHBOARDS {
        if !readme.contains(file) || !readme.contains(uid) {
            problems.push(format!(
                "dashboards/README.md does not mention {file} ({uid})"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// 2. Every query is valid PromQL
// ---------------------------------------------------------------------------------------

/// Sends an instant query; Ok(answer) on `status: success`, Err(reason) otherwise.
fn query(prom: &TempPrometheus, promql: &str) -> Result<Value, String> {
    let url = format!("{}/api/v1/query?query={}", prom.url(), urlencode(promql));
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

/// Every panel query and every variable's selector, expanded.
fn all_expanded(job: &str, source: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (file, d) in all() {
        for (pt, r, expr) in queries(&d) {
            out.push((format!("{file} {pt:?} {r}"), expand(&expr, job, source)));
        }
        for v in d["templating"]["list"].as_array().into_iter().flatten() {
            if let Some((sel, _)) = v["query"].as_str().and_then(label_values_selector) {
                out.push((
                    format!("{file} variable {}", v["name"]),
                    expand(sel, job, source),
                ));
            }
        }
    }
    out
}

#[test]
fn every_query_is_valid_promql() {
    let prom = TempPrometheus::start("prometheus", &[TempPrometheus::SELF]);
    // The check itself works: Prometheus refuses bad PromQL with bad_data.
    let refused = query(&prom, "rate(up[1m]").unwrap_err();
    assert!(
        refused.contains("400") && refused.contains("bad_data"),
        "{refused}"
    );

    let all = all_expanded(".*", ".*");
    assert!(all.len() > 100, "only {} queries", all.len());
    let failures: Vec<String> = all
        .iter()
        .filter_map(|(what, q)| query(&prom, q).err().map(|e| format!("{what}: {e}\n  {q}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// 3. Every panel shows data from a real exporter
// ---------------------------------------------------------------------------------------

/// Whether an instant query's answer holds at least one sample (NaN counts: a ratio of
/// two idle counters is NaN, and Grafana shows the series).
fn has_data(answer: &Value) -> bool {
    match answer["data"]["resultType"].as_str() {
        Some("scalar") | Some("string") => true,
        _ => answer["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
    }
}

#[test]
fn every_panel_shows_data_from_a_real_stack() {
    // PostgreSQL with pg_stat_statements and a streaming standby, PgBouncer in front of
    // it, a Redis with maxmemory, queues, keys and an error reply, an app with a
    // health probe, and a Redis source that is down (so error panels have something).
    let primary = TempPostgres::start();
    let standby = primary.start_standby("dash_standby");
    primary.psql("CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 1000)");
    wait_until(Duration::from_secs(15), "the standby streams", || {
        primary.psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == "1"
    });
    let bouncer = TempPgBouncer::start(&primary);
    let redis = TempRedis::start_with_args(&["--maxmemory", "64mb"]);
    redis.cli(&["RPUSH", "rq:queue:default", "a", "b", "c"]);
    redis.cli(&["SET", "k", "v", "EX", "3600"]);
    redis.cli(&["GET", "k"]);
    redis.cli(&["GET", "missing"]);
    let _ = redis.try_cli(&["HGET", "k", "f"]);
    let app = TestApp::start();
    let config = format!(
        "defaults: {{ interval: 1s, timeout: 900ms }}\n\
         postgres:\n\
         \x20 - {{ name: primary, url: \"{}\", collectors: {{ statements: {{ query_text: true }} }} }}\n\
         \x20 - {{ name: standby, url: \"{}\" }}\n\
         pgbouncer:\n\
         \x20 - {{ name: bouncer, url: \"{}\" }}\n\
         redis:\n\
         \x20 - name: cache\n\
         \x20   url: \"{}\"\n\
         \x20   queues: [ {{ library: rq, name: default }}, {{ library: bullmq, name: emails }} ]\n\
         \x20 - {{ name: dead, url: \"redis://127.0.0.1:{}\" }}\n\
         apps:\n\
         \x20 - name: api\n\
         \x20   metrics_url: \"{}\"\n\
         \x20   probes: [ {{ name: health, url: \"{}\", json_services: {{ pointer: /services }} }} ]\n",
        primary.url(),
        standby.url(),
        bouncer.url(pgbouncer_users::STATS, "pgbouncer"),
        redis.url(),
        free_port(),
        app.url("/metrics"),
        app.url("/health"),
    );
    let exporter = ExporterProcess::start(&config, &[]);
    let prom = TempPrometheus::start("stack", &[exporter.addr()]);

    let golden: BTreeSet<(String, String)> = NEEDS_GOLDEN_SIGNALS
        .iter()
        .map(|(u, t)| (u.to_string(), t.to_string()))
        .collect();
    // (uid, panel, refId) → (expanded query, has data)
    let mut last: BTreeMap<(String, String, String), (String, bool)> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for (_, d) in all() {
            let uid = d["uid"].as_str().unwrap_or("").to_string();
            for (pt, r, expr) in queries(&d) {
                let q = expand(&expr, "stack", ".*");
                let data = query(&prom, &q)
                    .map(|a| has_data(&a))
                    .unwrap_or_else(|e| panic!("{uid} {pt:?} {r}: {e}\n  {q}"));
                last.insert((uid.clone(), pt, r), (q, data));
            }
        }
        let settled = last
            .iter()
            .all(|((uid, pt, _), (_, data))| *data != golden.contains(&(uid.clone(), pt.clone())));
        if settled || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }

    let mut problems = Vec::new();
    for ((uid, pt, r), (q, data)) in &last {
        let needs_golden = golden.contains(&(uid.clone(), pt.clone()));
        if needs_golden && *data {
            problems.push(format!(
                "{uid} {pt:?} {r} has data now: remove it from NEEDS_GOLDEN_SIGNALS\n  {q}"
            ));
        } else if !needs_golden && !data {
            problems.push(format!("{uid} {pt:?} {r} returned no data\n  {q}"));
        }
    }
    // The series the selectors treat as source-less really are.
    for metric in [
        "process_resident_memory_bytes",
        "stack_exporter_build_info",
        "stack_exporter_config_last_reload_successful",
        "scrape_duration_seconds",
        "up",
    ] {
        let a = query(&prom, &format!("{metric}{{job=\"stack\"}}")).unwrap();
        let with_source = a["data"]["result"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["metric"].get("source").is_some());
        if with_source || !has_data(&a) {
            problems.push(format!(
                "{metric}: expected series without a source label: {a}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n\nexporter log:\n{}",
        problems.join("\n"),
        exporter.logs()
    );
}
