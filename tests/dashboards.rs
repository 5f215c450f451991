//! The Grafana dashboards in `dashboards/`: their structure (importable Classic JSON,
//! variables, every selector filtered by `$job` and `$source`, `$__rate_interval`, units,
//! the thresholds of the alerts in `alerts/` drawn), and every query accepted by a real
//! Prometheus. That every panel returns data from a real stack, and computes what its
//! alert does, is tests/e2e.rs.

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

use common::dashboards::{
    all, dashboards_dir, expand, is_layout, panels, queries, query, title, ALERT_PANELS, DASHBOARDS,
};
use common::rules::{alert_expr, measure_and_threshold};
use common::TempPrometheus;

/// The data source every panel and target uses: the `datasource` variable.
const DS_UID: &str = "${datasource}";

/// Series without a `source` label: the exporter's process-wide self-metrics
/// (`process_*`, `stack_exporter_build_info`, `stack_exporter_config_*`,
/// `stack_exporter_remote_write_*`: per endpoint, not per source) and the series
/// Prometheus adds per target (`up`, `scrape_*`). Their selectors filter by `job` only: a
/// `source` matcher would hide them as soon as one source is selected.
fn has_no_source_label(metric: &str) -> bool {
    metric == "up"
        || metric == "stack_exporter_build_info"
        || [
            "process_",
            "stack_exporter_config_",
            "stack_exporter_remote_write_",
            "scrape_",
        ]
        .iter()
        .any(|p| metric.starts_with(p))
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
fn alert_measure_and_threshold_split_at_the_outer_comparison() {
    let (m, t) = measure_and_threshold("a / (b > 0) > 0.9");
    assert_eq!((m.as_str(), t), ("a / (b > 0)", 0.9));
    let (m, t) = measure_and_threshold("x{l=\">\"} >= 1000\nand on (s) y >= 0.1");
    assert_eq!((m.as_str(), t), ("x{l=\">\"}", 1000.0));
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

    // Alert thresholds are drawn: the number the alert's expression compares with.
    for (uid, pt, alert) in ALERT_PANELS {
        let (_, value) = measure_and_threshold(&alert_expr(alert));
        let Some((_, d)) = dashboards.iter().find(|(_, d)| d["uid"] == *uid) else {
            problems.push(format!(
                "ALERT_PANELS names a dashboard {uid} that does not exist"
            ));
            continue;
        };
        let Some(p) = panels(d).into_iter().find(|p| title(p) == *pt) else {
            problems.push(format!("{uid}: no panel {pt:?}"));
            continue;
        };
        let defaults = &p["fieldConfig"]["defaults"];
        let drawn = defaults["thresholds"]["steps"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["value"].as_f64() == Some(value)));
        let visible = p["type"] != "timeseries"
            || defaults["custom"]["thresholdsStyle"]["mode"]
                .as_str()
                .is_some_and(|m| m != "off");
        if !drawn || !visible {
            problems.push(format!(
                "{uid}: panel {pt:?} does not draw the threshold {value} of {alert}"
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
