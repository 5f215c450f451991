//! The Grafana dashboards in `dashboards/`: their structure (importable Classic JSON,
//! variables, every selector filtered by `$job` and `$source`, the exporter's own
//! `process_*` picked with `source=""`, `$__rate_interval`, units, the thresholds of the
//! alerts in `alerts/` drawn, the recording rules they read recorded there), and every
//! query accepted by a real Prometheus. Against real components: the process panels show
//! one series per exporter when an app re-exposes its own `process_*`, and the PgBouncer
//! dashboard covers the pools of a real PgBouncer. That every panel returns data from a
//! real stack, and computes what its alert does, is tests/e2e.rs.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::dashboards::{
    all, by_uid, dashboards_dir, expand, is_layout, panels, queries, query, title, ALERT_PANELS,
    DASHBOARDS,
};
use common::pgbouncer_users::{APP, STATS};
use common::rules::{alert_expr, groups, measure_and_threshold};
use common::{vector_samples, ExporterProcess, TempPgBouncer, TempPostgres, TempPrometheus};

/// The data source every panel and target uses: the `datasource` variable.
const DS_UID: &str = "${datasource}";

/// Series without a `source` label: the exporter's process-wide self-metrics
/// (`stack_exporter_build_info`, `stack_exporter_config_*`,
/// `stack_exporter_remote_write_*`: per endpoint, not per source) and the series
/// Prometheus adds per target (`up`, `scrape_*`). Their selectors filter by `job` only: a
/// `source` matcher would hide them as soon as one source is selected.
fn has_no_source_label(metric: &str) -> bool {
    metric == "up"
        || metric == "stack_exporter_build_info"
        || [
            "stack_exporter_config_",
            "stack_exporter_remote_write_",
            "scrape_",
        ]
        .iter()
        .any(|p| metric.starts_with(p))
}

/// `process_*`: the exporter's own carry no `source` label, but an app source re-exposes
/// the app's own `process_*` (most client libraries write them) with `source="<app>"`.
/// Their selectors filter by `job` and pick the exporter's alone with `source=""`.
fn is_process_metric(metric: &str) -> bool {
    metric.starts_with("process_")
}

/// The only source matcher a `process_*` selector may have.
const EXPORTER_ONLY: &str = r#"source="""#;

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
        if is_process_metric(name) {
            let sources: Vec<&String> = m.iter().filter(|m| m.starts_with("source")).collect();
            if sources != [EXPORTER_ONLY] {
                problems.push(format!(
                    "`{name}{{{inner}}}` must pick the exporter's own process with \
                     {EXPORTER_ONLY} alone (an app's re-exposed {name} has source=\"<app>\")"
                ));
            }
        } else if has_no_source_label(name) {
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
    // `$1`, `$2`… are label_replace's references to its regex's groups: Grafana leaves them
    // alone (there is no variable named by a digit).
    let variable = rest
        .match_indices('$')
        .any(|(i, _)| !rest[i + 1..].starts_with(|c: char| c.is_ascii_digit()));
    if variable {
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
    assert!(check_expr(r#"up{job=~"$job"}"#).is_empty());
    assert!(!check_expr(r#"up{job=~"$job", source=~"$source"}"#).is_empty());
    assert!(!check_expr(r#"up{job=~"$job", source=""}"#).is_empty());
    // The exporter's own process: source="" and nothing else about the source.
    assert!(check_expr(r#"process_open_fds{job=~"$job", source=""}"#).is_empty());
    assert!(check_expr(
        r#"rate(process_cpu_seconds_total{source="",job=~"$job"}[$__rate_interval])"#
    )
    .is_empty());
    assert!(!check_expr(r#"process_open_fds{job=~"$job"}"#).is_empty());
    assert!(!check_expr(r#"process_open_fds{job=~"$job", source=~"$source"}"#).is_empty());
    assert!(
        !check_expr(r#"process_open_fds{job=~"$job", source="", source=~"$source"}"#).is_empty()
    );
    assert!(!check_expr(r#"process_open_fds{job=~"$job", source=~""}"#).is_empty());
    // label_replace's group references are not variables; anything else with a `$` is.
    assert!(check_expr(
        r#"label_replace(a{job=~"$job", source=~"$source"}, "d", "$1", "n", "(.+)")"#
    )
    .is_empty());
    assert!(!check_expr(r#"a{job=~"$job", source=~"$source", instance=~"$instance"}"#).is_empty());
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

// ---------------------------------------------------------------------------------------
// 3. The series the dashboards read exist: recording rules, alert measures
// ---------------------------------------------------------------------------------------

/// Every selector of a query: (metric name, matchers).
fn selectors(expr: &str) -> Vec<(String, Vec<String>)> {
    scan(expr)
        .unwrap_or_else(|e| panic!("{e}: {expr}"))
        .selectors
        .into_iter()
        .map(|(name, inner)| (name, inner.as_deref().map(matchers).unwrap_or_default()))
        .collect()
}

#[test]
fn every_recording_rule_a_dashboard_reads_is_in_alerts() {
    let recorded: BTreeSet<String> = groups().into_iter().flat_map(|(_, _, r)| r).collect();
    let mut read = BTreeSet::new();
    let mut problems = Vec::new();
    for (file, d) in all() {
        for (pt, r, expr) in queries(&d) {
            // `level:metric:operation`: only recording rules have colons in their names.
            for (name, _) in selectors(&expr)
                .into_iter()
                .filter(|(n, _)| n.contains(':'))
            {
                if !recorded.contains(&name) {
                    problems.push(format!(
                        "{file} {pt:?} {r}: `{name}` is recorded by no rule in alerts/"
                    ));
                }
                read.insert(name);
            }
        }
    }
    assert!(
        read.contains("job_source:stack_slow_request_ratio:rate5m"),
        "the overview no longer reads the slow share: {read:?}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The panels of ALERT_PANELS select, in one query, every series their alert's measure
/// selects, with the measure's own matchers (`state="waiting"`): the static half of
/// tests/e2e.rs's "computes the same values".
#[test]
fn alert_panels_select_what_their_alert_measures() {
    let mut problems = Vec::new();
    for (uid, pt, alert) in ALERT_PANELS {
        let (measure, _) = measure_and_threshold(&alert_expr(alert));
        let wanted = selectors(&measure);
        assert!(!wanted.is_empty(), "{alert}: no selector in `{measure}`");
        let d = by_uid(uid);
        let Some(p) = panels(&d).into_iter().find(|p| title(p) == *pt) else {
            problems.push(format!("{uid}: no panel {pt:?}"));
            continue;
        };
        let selects_all = p["targets"].as_array().into_iter().flatten().any(|t| {
            let got = selectors(t["expr"].as_str().unwrap_or(""));
            wanted.iter().all(|(name, want)| {
                got.iter()
                    .any(|(n, m)| n == name && want.iter().all(|w| m.contains(w)))
            })
        });
        if !selects_all {
            problems.push(format!(
                "{uid}: no query of panel {pt:?} selects what {alert} measures: `{measure}`"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// 4. Process panels: the exporter's own process only
// ---------------------------------------------------------------------------------------

/// The panel queries selecting `process_*`: (file, panel title, legend, expr).
fn process_queries() -> Vec<(&'static str, String, String, String)> {
    let mut out = Vec::new();
    for (file, d) in all() {
        for p in panels(&d).into_iter().filter(|p| !is_layout(p)) {
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = t["expr"].as_str().unwrap_or("");
                if selectors(expr).iter().any(|(n, _)| is_process_metric(n)) {
                    out.push((
                        file,
                        title(p).to_string(),
                        t["legendFormat"].as_str().unwrap_or("").to_string(),
                        expr.to_string(),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn process_selectors_pick_the_exporter_alone_and_name_the_instance() {
    let found = process_queries();
    let titles: BTreeSet<&str> = found.iter().map(|(_, t, _, _)| t.as_str()).collect();
    for want in ["Uptime", "Memory", "CPU", "Open file descriptors"] {
        assert!(
            titles.contains(want),
            "no process panel {want:?}: {titles:?}"
        );
    }
    let mut problems = Vec::new();
    for (file, pt, legend, expr) in &found {
        for (name, m) in selectors(expr) {
            if is_process_metric(&name) && !m.iter().any(|m| m == EXPORTER_ONLY) {
                problems.push(format!(
                    "{file} {pt:?}: `{name}` without {EXPORTER_ONLY}: {expr}"
                ));
            }
        }
        if !legend.contains("{{instance}}") {
            problems.push(format!(
                "{file} {pt:?}: legend {legend:?} does not name the instance"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Two real exporters scraped by a real Prometheus; the second has an app source whose
/// app is the first exporter, so it re-exposes that process's `process_*` with
/// `source="app"`, as an instrumented app's are. Every process query of every dashboard
/// shows exactly one series per exporter, none of them the app's.
#[test]
fn process_panels_show_one_series_per_exporter() {
    let config = "defaults: { interval: 1s, timeout: 900ms }\napps: []\n";
    let app = ExporterProcess::start(config, &[]);
    let exporter = ExporterProcess::start(
        &format!(
            "defaults: {{ interval: 1s, timeout: 900ms }}\n\
             apps:\n  - {{ name: app, metrics_url: \"{}/metrics\" }}\n",
            app.url()
        ),
        &[],
    );
    let prom = TempPrometheus::start("stack", &[app.addr(), exporter.addr()]);
    let instances: BTreeSet<String> = [app.addr(), exporter.addr()].map(String::from).into();

    // The situation of the issue: the app's process_* are there beside the exporters'.
    prom.wait_for(
        r#"process_resident_memory_bytes{job="stack", source="app"}"#,
        |a| !vector_samples(a).is_empty(),
        Duration::from_secs(30),
    );
    prom.wait_for(
        r#"count(process_start_time_seconds{job="stack", source=""})"#,
        |a| vector_samples(a).first().is_some_and(|(_, v)| *v == 2.0),
        Duration::from_secs(30),
    );
    let found = process_queries();
    assert!(found.len() >= 5, "{found:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut problems = Vec::new();
        for (file, pt, _, expr) in &found {
            let q = expand(expr, "stack", ".*");
            let samples = vector_samples(&query(&prom, &q).unwrap());
            let got: Vec<&String> = samples
                .iter()
                .filter_map(|(l, _)| l.get("instance"))
                .collect();
            let distinct: BTreeSet<String> = got.iter().map(|i| i.to_string()).collect();
            if got.len() != 2
                || distinct != instances
                || samples.iter().any(|(l, _)| l.contains_key("source"))
            {
                problems.push(format!("{file} {pt:?}: {samples:?}\n  {q}"));
            }
            // The same query without source="" draws the app's process too: the fixture
            // has what the filter is for.
            let unfiltered = q.replace(&format!(", {EXPORTER_ONLY}"), "");
            if unfiltered != q {
                let all = vector_samples(&query(&prom, &unfiltered).unwrap());
                if all.len() <= samples.len() {
                    problems.push(format!(
                        "{file} {pt:?}: without {EXPORTER_ONLY} only {all:?}"
                    ));
                }
            }
        }
        if problems.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not one series per exporter ({instances:?}):\n{}",
            problems.join("\n")
        );
        thread::sleep(Duration::from_millis(500));
    }
}

// ---------------------------------------------------------------------------------------
// 5. PgBouncer: the pools, per database and user
// ---------------------------------------------------------------------------------------

/// What the PgBouncer dashboard must show: (what, the series one query combines, exactly;
/// the labels its result keeps and its legend names). Names as served by
/// src/sources/pgbouncer (those of prometheus-community/pgbouncer_exporter).
const PGBOUNCER_COVERAGE: &[(&str, &[&str], &[&str])] = &[
    ("up", &["pgbouncer_up"], &["source"]),
    ("version", &["pgbouncer_version_info"], &["version"]),
    (
        "client active connections",
        &["pgbouncer_pools_client_active_connections"],
        &["database", "user"],
    ),
    (
        "client waiting connections",
        &["pgbouncer_pools_client_waiting_connections"],
        &["database", "user"],
    ),
    (
        "server active connections",
        &["pgbouncer_pools_server_active_connections"],
        &["database", "user"],
    ),
    (
        "server idle connections",
        &["pgbouncer_pools_server_idle_connections"],
        &["database", "user"],
    ),
    (
        "server used connections",
        &["pgbouncer_pools_server_used_connections"],
        &["database", "user"],
    ),
    (
        "longest client wait",
        &["pgbouncer_pools_client_maxwait_seconds"],
        &["database", "user"],
    ),
    (
        "pool utilisation",
        &[
            "pgbouncer_pools_server_active_connections",
            "pgbouncer_databases_pool_size",
        ],
        &["database", "user"],
    ),
    (
        "queries per second",
        &["pgbouncer_stats_totals_queries_pooled_total"],
        &["database"],
    ),
    (
        "transactions per second",
        &["pgbouncer_stats_totals_sql_transactions_pooled_total"],
        &["database"],
    ),
    (
        "average query time",
        &[
            "pgbouncer_stats_totals_queries_duration_seconds_total",
            "pgbouncer_stats_totals_queries_pooled_total",
        ],
        &["database"],
    ),
    (
        "average transaction time",
        &[
            "pgbouncer_stats_totals_server_in_transaction_seconds_total",
            "pgbouncer_stats_totals_sql_transactions_pooled_total",
        ],
        &["database"],
    ),
    (
        "bytes in",
        &["pgbouncer_stats_totals_received_bytes_total"],
        &["database"],
    ),
    (
        "bytes out",
        &["pgbouncer_stats_totals_sent_bytes_total"],
        &["database"],
    ),
];

/// The PgBouncer dashboard's queries that show `what` of [`PGBOUNCER_COVERAGE`]: those
/// selecting exactly its series, with a legend naming its labels. (panel title, expr)
fn pgbouncer_queries(d: &Value, what: &str) -> Vec<(String, String)> {
    let (_, series, labels) = PGBOUNCER_COVERAGE
        .iter()
        .find(|c| c.0 == what)
        .unwrap_or_else(|| panic!("{what} is not in PGBOUNCER_COVERAGE"));
    let want: BTreeSet<&str> = series.iter().copied().collect();
    let mut out = Vec::new();
    for p in panels(d).into_iter().filter(|p| !is_layout(p)) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().unwrap_or("");
            let legend = t["legendFormat"].as_str().unwrap_or("");
            let names = selectors(expr);
            let got: BTreeSet<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
            if got == want
                && labels
                    .iter()
                    .all(|l| legend.contains(&format!("{{{{{l}}}}}")))
            {
                out.push((title(p).to_string(), expr.to_string()));
            }
        }
    }
    out
}

#[test]
fn the_pgbouncer_dashboard_covers_the_pools() {
    let d = by_uid("stack-pgbouncer");
    let missing: Vec<&str> = PGBOUNCER_COVERAGE
        .iter()
        .filter(|(what, _, _)| pgbouncer_queries(&d, what).is_empty())
        .map(|(what, _, _)| *what)
        .collect();
    assert!(
        missing.is_empty(),
        "the PgBouncer dashboard lacks: {missing:?}"
    );
    // The averages are duration over count, not the other way round.
    for what in ["average query time", "average transaction time"] {
        for (t, expr) in pgbouncer_queries(&d, what) {
            let (num, den) = expr
                .split_once(" / ")
                .unwrap_or_else(|| panic!("{t:?}: {expr}"));
            assert!(
                num.contains("_seconds_total") && !den.contains("_seconds_total"),
                "{t:?}: not duration / count: {expr}"
            );
        }
    }
    // It reads PgBouncer's series only (that the exporter serves each of them is
    // the_pgbouncer_dashboard_shows_a_real_pgbouncer).
    for (_, _, expr) in queries(&d) {
        for (name, _) in selectors(&expr) {
            assert!(
                name.starts_with("pgbouncer_"),
                "{name} in the PgBouncer dashboard: {expr}"
            );
        }
    }
}

/// A real PgBouncer (Debian's 1.18) in front of a real PostgreSQL, with traffic through
/// it, polled by the exporter and scraped by a real Prometheus: every query of the
/// PgBouncer dashboard returns data, the pool and traffic queries per database (and user),
/// the averages finite numbers in a plausible range.
#[test]
fn the_pgbouncer_dashboard_shows_a_real_pgbouncer() {
    let pg = TempPostgres::start();
    // A limit on server connections per database, for the dashed max_connections line.
    let bouncer = Arc::new(TempPgBouncer::start_with(&pg, &["max_db_connections = 50"]));
    let exporter = ExporterProcess::start(
        &format!(
            "defaults: {{ interval: 1s, timeout: 900ms }}\n\
             pgbouncer:\n  - {{ name: bouncer, url: \"{}\" }}\n",
            bouncer.url(STATS, "pgbouncer")
        ),
        &[],
    );
    let prom = TempPrometheus::start("stack", &[exporter.addr()]);

    // Queries through the pooler until the checks are done (at most two minutes).
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let (bouncer, stop) = (Arc::clone(&bouncer), Arc::clone(&stop));
        thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(120);
            let mut errors = Vec::new();
            while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                let sql = "SELECT pg_sleep(0.01); BEGIN; SELECT count(*) FROM pg_class; COMMIT";
                if let Err(e) = bouncer.try_psql(APP, "postgres", sql) {
                    errors.push(e);
                }
                thread::sleep(Duration::from_millis(50));
            }
            errors
        })
    };

    let d = by_uid("stack-pgbouncer");
    let all: Vec<(String, String, String)> = queries(&d);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last: BTreeMap<String, String>;
    loop {
        last = BTreeMap::new();
        for (pt, r, expr) in &all {
            let q = expand(expr, "stack", ".*");
            let answer = query(&prom, &q).unwrap_or_else(|e| panic!("{pt:?} {r}: {e}\n  {q}"));
            let samples = vector_samples(&answer);
            let finite = samples.iter().filter(|(_, v)| v.is_finite()).count();
            if samples.is_empty() || finite == 0 {
                last.insert(format!("{pt:?} {r}"), format!("{samples:?}\n  {q}"));
            }
        }
        if last.is_empty() || Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(500));
    }
    let mut problems: Vec<String> = last
        .iter()
        .map(|(what, got)| format!("{what}: no data: {got}"))
        .collect();

    // Coverage: per database (and user), with the app's database among them.
    for (what, _, labels) in PGBOUNCER_COVERAGE {
        for (pt, expr) in pgbouncer_queries(&d, what) {
            let q = expand(&expr, "stack", ".*");
            let samples = vector_samples(&query(&prom, &q).unwrap());
            let keeps = |l: &BTreeMap<String, String>| labels.iter().all(|k| l.contains_key(*k));
            if samples.is_empty() || !samples.iter().all(|(l, _)| keeps(l)) {
                problems.push(format!(
                    "{what} ({pt:?}): not by {labels:?}: {samples:?}\n  {q}"
                ));
            }
            if labels.contains(&"database")
                && !samples.iter().any(|(l, v)| {
                    l.get("database").is_some_and(|d| d == "postgres") && v.is_finite()
                })
            {
                problems.push(format!(
                    "{what} ({pt:?}): nothing for database postgres: {samples:?}"
                ));
            }
        }
    }
    for (what, low, high) in [
        ("average query time", 1e-5, 1.0),
        ("average transaction time", 1e-5, 1.0),
        ("pool utilisation", 0.0, 1.0),
    ] {
        for (pt, expr) in pgbouncer_queries(&d, what) {
            let samples = vector_samples(&query(&prom, &expand(&expr, "stack", ".*")).unwrap());
            let ours = samples
                .iter()
                .find(|(l, _)| l.get("database").is_some_and(|d| d == "postgres"));
            if !ours.is_some_and(|(_, v)| (low..=high).contains(v)) {
                problems.push(format!(
                    "{what} ({pt:?}) outside [{low}, {high}]: {samples:?}"
                ));
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let errors = traffic.join().unwrap();
    assert!(
        errors.is_empty(),
        "traffic through PgBouncer failed: {errors:?}"
    );
    assert!(
        problems.is_empty(),
        "{}\n\nexporter log:\n{}",
        problems.join("\n"),
        exporter.logs()
    );
}
