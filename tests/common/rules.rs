//! The shipped Prometheus rule files (`alerts/*.yml`), read as YAML, so that tests take
//! alert expressions and thresholds from the files rather than copies of them.

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::TempPrometheus;

/// The rule files: every `.yml` directly in `alerts/` (absolute paths, sorted).
pub fn rule_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("alerts");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("read_dir entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no rule files in {}", dir.display());
    files
}

/// One rule group: (file, group name, names of its rules: `alert` or `record`).
pub type Group = (PathBuf, String, Vec<String>);

/// Every group of every rule file, in file order.
pub fn groups() -> Vec<Group> {
    let mut out = Vec::new();
    for file in rule_files() {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let doc: Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for group in seq(&doc["groups"]) {
            let name = group["name"].as_str().expect("group name").to_string();
            let rules = seq(&group["rules"])
                .iter()
                .map(|r| {
                    r["alert"]
                        .as_str()
                        .or_else(|| r["record"].as_str())
                        .expect("rule without alert or record")
                        .to_string()
                })
                .collect();
            out.push((file.clone(), name, rules));
        }
    }
    out
}

fn seq(v: &Value) -> &[Value] {
    v.as_sequence().map(Vec::as_slice).unwrap_or_default()
}

/// The `expr` of the alerting rule `alert`, as written in its rule file.
pub fn alert_expr(alert: &str) -> String {
    for file in rule_files() {
        let text = std::fs::read_to_string(&file).expect("read rule file");
        let doc: Value = serde_yaml::from_str(&text).expect("rule file is YAML");
        for group in seq(&doc["groups"]) {
            for rule in seq(&group["rules"]) {
                if rule["alert"].as_str() == Some(alert) {
                    return rule["expr"].as_str().expect("expr").trim().to_string();
                }
            }
        }
    }
    panic!("no alert {alert} in alerts/");
}

/// An alert expression split at its first comparison outside parentheses:
/// `a / (b > 0) > 0.9 and c` gives (`a / (b > 0)`, 0.9): what the alert measures and its
/// threshold.
pub fn measure_and_threshold(expr: &str) -> (String, f64) {
    let b = expr.as_bytes();
    let mut depth = 0i32;
    let mut quoted = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quoted {
            if c == b'\\' {
                i += 1;
            } else if c == q {
                quoted = None;
            }
        } else {
            match c {
                b'"' | b'\'' | b'`' => quoted = Some(c),
                b'(' | b'{' | b'[' => depth += 1,
                b')' | b'}' | b']' => depth -= 1,
                b'>' | b'<' if depth == 0 => {
                    let mut rest = &expr[i + 1..];
                    rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
                    let number: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '-'))
                        .collect();
                    let threshold = number
                        .parse()
                        .unwrap_or_else(|_| panic!("no number after the comparison in {expr}"));
                    return (expr[..i].trim().to_string(), threshold);
                }
                _ => {}
            }
        }
        i += 1;
    }
    panic!("no comparison outside parentheses in {expr}");
}

/// A Prometheus scraping `targets` as job `job` every second and evaluating every rule
/// file of `alerts/` (by absolute path) every second, as the end-to-end proofs need.
pub fn prometheus_with_rules(job: &str, targets: &[&str]) -> TempPrometheus {
    let files: String = rule_files()
        .iter()
        .map(|f| format!("  - {:?}\n", f.to_str().expect("UTF-8 path")))
        .collect();
    let targets: Vec<String> = targets.iter().map(|a| format!("{a:?}")).collect();
    TempPrometheus::start_with_config(&format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n{files}\
         scrape_configs:\n\
         \x20 - job_name: {job}\n\
         \x20   static_configs:\n\
         \x20     - targets: [{}]\n",
        targets.join(", ")
    ))
}
