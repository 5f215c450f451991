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

/// The rule files Prometheus must load: every `alerts/*.rules.yml`, as names.
fn shipped_rule_file_names() -> Vec<String> {
    rule_files()
        .iter()
        .map(|p| p.file_name().and_then(|n| n.to_str()).expect("UTF-8 name"))
        .filter(|n| n.ends_with(".rules.yml"))
        .map(str::to_owned)
        .collect()
}

/// Every path under `alerts/` named in `text` (`alerts/x.rules.yml`,
/// `/etc/prometheus/alerts/x.rules.yml`, `../alerts/*.rules.yml`, `alerts/tests/*.test.yml`),
/// as the part after `alerts/`, with the line it is on.
fn alerts_paths(text: &str) -> Vec<(String, String)> {
    let re = regex::Regex::new(r"alerts/([A-Za-z0-9_.*/-]*\.yml)\b").expect("regex");
    text.lines()
        .flat_map(|line| {
            re.captures_iter(line)
                .map(|c| (c[1].to_owned(), line.trim().to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether `pattern` (a path under `alerts/`, `*` matching within one path component)
/// names at least one file of the repository's `alerts/`.
fn names_existing_files(pattern: &str) -> bool {
    let re = format!(
        "^{}$",
        pattern
            .split('*')
            .map(regex::escape)
            .collect::<Vec<_>>()
            .join("[^/]*")
    );
    let re = regex::Regex::new(&re).expect("glob regex");
    let dir = root().join("alerts");
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{d:?}: {e}")) {
            let path = entry.expect("read_dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if let Some(rel) = path.strip_prefix(&dir).ok().and_then(|r| r.to_str()) {
                if re.is_match(rel) {
                    return true;
                }
            }
        }
    }
    false
}

/// The problems of one install guide: file names it gives that do not exist, `install`
/// lines whose destination renames the file, rule files it does not install.
fn install_guide_problems(what: &str, text: &str, rule_names: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, line) in alerts_paths(text) {
        if !names_existing_files(&path) {
            problems.push(format!(
                "{what} names alerts/{path}, which does not exist: {line}"
            ));
        }
    }
    let installs: Vec<String> = text
        .lines()
        .map(|l| l.trim_start_matches(|c: char| c == '#' || c.is_whitespace()))
        .filter(|l| l.starts_with("install ") || l.starts_with("sudo install "))
        .map(str::to_owned)
        .collect();
    for line in &installs {
        let names: Vec<String> = alerts_paths(line).into_iter().map(|(p, _)| p).collect();
        if names.windows(2).any(|w| w[0] != w[1]) {
            problems.push(format!(
                "{what}: the installed name differs from the file's: {line}"
            ));
        }
    }
    for name in rule_names {
        let source = format!(" alerts/{name} ");
        if !installs.iter().any(|l| l.contains(&source)) {
            problems.push(format!("{what} does not install alerts/{name}"));
        }
    }
    problems
}

/// docs/deploy/prometheus.md and the comments of deploy/prometheus.yml tell how to install
/// the rules: they install every rule file (the dashboards need the recording rules of
/// stack.rules.yml; the other files' alerts are lost otherwise), under its own name, and
/// name no file that does not exist. A rule file added to alerts/ and forgotten there
/// fails here.
#[test]
fn the_prometheus_install_guides_install_every_rule_file() {
    let names = shipped_rule_file_names();
    assert!(!names.is_empty(), "no alerts/*.rules.yml");
    let mut problems = Vec::new();
    // deploy/prometheus.yml loads `alerts/*.rules.yml`: a rule file named otherwise
    // would pass promtool here and never be loaded.
    for file in rule_files() {
        if !file.to_string_lossy().ends_with(".rules.yml") {
            problems.push(format!(
                "{file:?}: rule files end in .rules.yml, which deploy/prometheus.yml loads"
            ));
        }
    }
    let doc = std::fs::read_to_string(root().join("docs/deploy/prometheus.md")).expect("doc");
    problems.extend(install_guide_problems(
        "docs/deploy/prometheus.md",
        &doc,
        &names,
    ));
    let config = std::fs::read_to_string(root().join("deploy/prometheus.yml")).expect("config");
    let comments: String = config
        .lines()
        .filter(|l| l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    problems.extend(install_guide_problems(
        "deploy/prometheus.yml (comments)",
        &comments,
        &names,
    ));
    // Its rule_files patterns too name files that exist.
    let settings: String = config
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    for (path, line) in alerts_paths(&settings) {
        if !names_existing_files(&path) {
            problems.push(format!(
                "deploy/prometheus.yml names alerts/{path}, which does not exist: {line}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn install_guide_check_finds_what_it_should() {
    let names = vec!["a.rules.yml".to_owned(), "b.rules.yml".to_owned()];
    // The old page: one file installed, a test file that does not exist.
    let old = "sudo install -D -m 0644 alerts/a.rules.yml /etc/prometheus/alerts/a.rules.yml\n\
               `alerts/stack_exporter.rules.test.yml` is its suite\n";
    let problems = install_guide_problems("old", old, &names);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("does not install alerts/b.rules.yml")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("alerts/stack_exporter.rules.test.yml, which does not exist")),
        "{problems:?}"
    );
    let renamed = "#   install -D alerts/a.rules.yml /etc/prometheus/alerts/x.rules.yml\n";
    assert!(install_guide_problems("renamed", renamed, &names[..1])
        .iter()
        .any(|p| p.contains("installed name differs")));
    assert!(names_existing_files("*.rules.yml"));
    assert!(names_existing_files("tests/*.test.yml"));
    assert!(!names_existing_files("*.test.yml"));
    assert!(!names_existing_files("stack_exporter.rules.test.yml"));
}
