//! The alert rules we ship pass promtool's checks and unit tests, and every alert has its
//! labels, annotations, runbook section, documentation and tests. (deploy/prometheus.yml,
//! which loads them, is checked with the other deploy artifacts in tests/deploy.rs.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;

const RUNBOOK_URL: &str =
    "https://github.com/stack-exporter/stack_exporter/blob/main/docs/runbooks.md#";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn promtool(args: &[&str]) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(root())
        .output()
        .expect("promtool not found: run `bash scripts/test.sh`, which installs it");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The `.yml` files directly in `dir` (relative to the crate root), sorted.
fn yml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|entry| entry.expect("read_dir entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .yml files in {dir}");
    files
}

fn rule_files() -> Vec<PathBuf> {
    yml_files("alerts")
}

fn test_files() -> Vec<PathBuf> {
    yml_files("alerts/tests")
}

fn promtool_on(subcommand: &[&str], files: &[PathBuf]) {
    let mut args: Vec<&str> = subcommand.to_vec();
    args.extend(files.iter().map(|p| p.to_str().expect("UTF-8 path")));
    let (ok, out) = promtool(&args);
    assert!(ok, "{out}");
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn seq(v: &Value) -> &[Value] {
    v.as_sequence().map(Vec::as_slice).unwrap_or_default()
}

fn string<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Every alerting rule of the shipped rule files.
fn alerts() -> Vec<Value> {
    let mut out = Vec::new();
    for file in rule_files() {
        let doc = yaml(&file);
        for group in seq(&doc["groups"]) {
            for rule in seq(&group["rules"]) {
                if rule.get("alert").is_some() {
                    out.push(rule.clone());
                }
            }
        }
    }
    assert!(!out.is_empty(), "no alerting rules found");
    out
}

/// GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to
/// hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn alert_rules_pass_promtool_check() {
    promtool_on(&["check", "rules"], &rule_files());
}

#[test]
fn alert_rules_unit_tests_pass() {
    promtool_on(&["test", "rules"], &test_files());
}

#[test]
fn every_alert_follows_the_conventions_and_has_a_runbook_section() {
    let runbooks = std::fs::read_to_string(root().join("docs/runbooks.md")).expect("runbooks");
    let anchors: BTreeSet<String> = runbooks
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(anchor)
        .collect();
    let alerts_doc = std::fs::read_to_string(root().join("docs/alerts.md")).expect("alerts.md");
    for rule in alerts() {
        let name = string(&rule, "alert").expect("alert name");
        assert!(
            name.starts_with("Stack"),
            "{name}: alert names share the Stack prefix"
        );
        let severity = string(&rule["labels"], "severity");
        assert!(
            matches!(severity, Some("critical" | "warning")),
            "{name}: severity {severity:?}"
        );
        let annotations = &rule["annotations"];
        let summary = string(annotations, "summary").unwrap_or_default();
        assert!(
            !summary.is_empty() && !summary.contains("{{"),
            "{name}: the summary must be static text"
        );
        let description = string(annotations, "description").unwrap_or_default();
        assert!(
            description.contains("{{"),
            "{name}: the description must be templated"
        );
        let url = string(annotations, "runbook_url").unwrap_or_default();
        let Some(fragment) = url.strip_prefix(RUNBOOK_URL) else {
            panic!("{name}: runbook_url {url:?} must start with {RUNBOOK_URL}");
        };
        assert!(
            anchors.contains(fragment),
            "{name}: docs/runbooks.md has no section #{fragment} (sections: {anchors:?})"
        );
        assert!(
            alerts_doc.contains(&format!("`{name}`")),
            "{name}: not documented in docs/alerts.md"
        );
    }
}

/// Each alert has a promtool case where it is not firing yet (pending, `exp_alerts: []`)
/// and one where it fires with its labels and annotations.
#[test]
fn every_alert_has_a_pending_and_a_firing_test() {
    let mut quiet = BTreeSet::new();
    let mut firing = BTreeSet::new();
    for file in test_files() {
        let doc = yaml(&file);
        for test in seq(&doc["tests"]) {
            for case in seq(&test["alert_rule_test"]) {
                let name = string(case, "alertname").expect("alertname").to_owned();
                let expected = seq(&case["exp_alerts"]);
                if expected.is_empty() {
                    quiet.insert(name);
                } else {
                    assert!(
                        expected.iter().all(|a| a.get("exp_annotations").is_some()),
                        "{name}: a firing case must check the annotations ({file:?})"
                    );
                    firing.insert(name);
                }
            }
        }
    }
    for rule in alerts() {
        let name = string(&rule, "alert").expect("alert name");
        assert!(quiet.contains(name), "{name}: no case with exp_alerts: []");
        assert!(firing.contains(name), "{name}: no case where it fires");
    }
}
