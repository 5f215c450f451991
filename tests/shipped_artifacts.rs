//! The alert rules we ship pass promtool's checks and unit tests. (deploy/prometheus.yml,
//! which loads them, is checked with the other deploy artifacts in tests/deploy.rs.)

use std::process::Command;

fn promtool(args: &[&str]) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
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

#[test]
fn alert_rules_pass_promtool_check() {
    let (ok, out) = promtool(&["check", "rules", "alerts/stack_exporter.rules.yml"]);
    assert!(ok, "{out}");
}

#[test]
fn alert_rules_unit_tests_pass() {
    let (ok, out) = promtool(&["test", "rules", "alerts/stack_exporter.rules.test.yml"]);
    assert!(ok, "{out}");
}
