//! The deployment artifacts under `deploy/` are valid and agree with each other, with the
//! binary and with their docs (`docs/deploy/`):
//!
//! - Prometheus: `promtool check config` from the checkout and in the installed layout
//!   (`/etc/prometheus` + `alerts/`), rule files found both ways; the Grafana Agent
//!   config's scrape and remote-write parts through promtool too.
//! - Kubernetes: every manifest parsed; the sidecar's ports, probes, resources, security
//!   context, Secret refs and ConfigMap mount; Service/ServiceMonitor selection; the
//!   ConfigMap's config passes `--check-config` and a real exporter started with it
//!   answers the probe and scrape paths the manifests use; `kubectl kustomize` when
//!   kubectl is installed.
//! - Fly: `fly.toml` (`[metrics]`, machine_config) and `fly-machine.json` (field names
//!   checked against Fly's ContainerConfig), the sidecar config and its secrets.
//! - Docker: the Dockerfile's stages, user, port, entrypoint, and that its build commands
//!   are the ones `scripts/test.sh` runs (which builds and checks the static binary).
//! - systemd: `systemd-analyze verify` (no warning allowed) and
//!   `systemd-analyze security --offline` on the unit.
//! - Grafana Alloy: `alloy` cannot be installed here (no registry ships it), so the file
//!   is parsed by a small reader of the Alloy syntax below and its components, attribute
//!   names and references are checked.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

use common::{exporter_bin, wait_until, ExporterProcess};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn promtool(args: &[&str], cwd: &Path) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("promtool not found: run `bash scripts/test.sh`, which installs it");
    (out.status.success(), output_text(&out))
}

/// N of promtool's "SUCCESS: N rule files found".
fn rule_files_found(promtool_output: &str) -> usize {
    promtool_output
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("SUCCESS: ")?
                .strip_suffix(" rule files found")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no rule-file count in promtool's output:\n{promtool_output}"))
}

fn yaml(text: &str, what: &str) -> Yaml {
    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{what} is not valid YAML: {e}"))
}

fn yaml_docs(text: &str, what: &str) -> Vec<Yaml> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| Yaml::deserialize(d).unwrap_or_else(|e| panic!("{what}: invalid YAML: {e}")))
        .filter(|v| !v.is_null())
        .collect()
}

fn s<'a>(v: &'a Yaml, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what}: expected a string, got {v:?}"))
}

fn seq<'a>(v: &'a Yaml, what: &str) -> &'a Vec<Yaml> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("{what}: expected a list, got {v:?}"))
}

/// `--check-config` of the debug binary on `path` with `env` set (and every variable
/// the shipped configs read removed first, so the machine's environment cannot help).
fn check_config(path: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(exporter_bin());
    cmd.arg("--check-config").arg("--config.file").arg(path);
    for var in [
        "DATABASE_URL",
        "REDIS_URL",
        "APP_PORT",
        "STACK_EXPORTER_CONFIG_FILE",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run stack_exporter --check-config")
}

const LOCAL_DATABASE_URL: &str = "postgresql://postgres@127.0.0.1:5432/postgres";
const LOCAL_REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Stand-in secrets for configs that are only checked, never connected with.
const FAKE_SECRETS: &[(&str, &str)] = &[
    (
        "DATABASE_URL",
        "postgresql://monitor:pg-s3cret@db.internal:5432/app?sslmode=verify-full",
    ),
    (
        "REDIS_URL",
        "rediss://default:redis-s3cret@cache.internal:6380",
    ),
];

/// The port of a listen address such as `0.0.0.0:9650` or `:9650`.
fn port_of(addr: &str) -> u16 {
    addr.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in listen address {addr:?}"))
}

// ---------------------------------------------------------------------------------------
// Prometheus and the (legacy) Grafana Agent
// ---------------------------------------------------------------------------------------

#[test]
fn prometheus_config_passes_promtool_and_loads_the_alert_rules() {
    let (ok, out) = promtool(&["check", "config", "deploy/prometheus.yml"], &root());
    assert!(ok, "{out}");
    assert!(rule_files_found(&out) >= 1, "no rule file found:\n{out}");
    assert!(
        out.contains("alerts/stack_exporter.rules.yml"),
        "the alert rules were not checked:\n{out}"
    );

    let cfg = yaml(&read("deploy/prometheus.yml"), "deploy/prometheus.yml");
    let job = seq(&cfg["scrape_configs"], "scrape_configs")
        .iter()
        .find(|j| j["job_name"].as_str() == Some("stack_exporter"))
        .expect("a scrape job named stack_exporter");
    let targets: Vec<&str> = seq(&job["static_configs"], "static_configs")
        .iter()
        .flat_map(|c| seq(&c["targets"], "targets").iter().map(|t| s(t, "target")))
        .collect();
    assert_eq!(targets, ["127.0.0.1:9650"]);
}

#[test]
fn prometheus_config_loads_the_alert_rules_when_installed_in_etc_prometheus() {
    // docs/deploy/prometheus.md: /etc/prometheus/prometheus.yml + /etc/prometheus/alerts/.
    let dir = common::tempdir("deploy-prometheus-");
    let etc = dir.path().join("etc/prometheus");
    fs::create_dir_all(etc.join("alerts")).unwrap();
    fs::copy(
        root().join("deploy/prometheus.yml"),
        etc.join("prometheus.yml"),
    )
    .unwrap();
    let mut copied = 0;
    for entry in fs::read_dir(root().join("alerts")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.ends_with(".rules.yml") {
            fs::copy(&path, etc.join("alerts").join(&name)).unwrap();
            copied += 1;
        }
    }
    assert!(copied >= 1, "no alerts/*.rules.yml");
    // From another working directory: relative rule paths follow the config file.
    let config = etc.join("prometheus.yml");
    let (ok, out) = promtool(
        &["check", "config", config.to_str().unwrap()],
        Path::new("/"),
    );
    assert!(ok, "{out}");
    assert_eq!(rule_files_found(&out), copied, "{out}");
    assert!(
        out.contains("/etc/prometheus/alerts/stack_exporter.rules.yml"),
        "{out}"
    );
}

#[test]
fn grafana_agent_config_is_marked_legacy_and_its_prometheus_parts_pass_promtool() {
    let text = read("deploy/grafana-agent.yml");
    let header: String = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        header.contains("LEGACY"),
        "header must say LEGACY:\n{header}"
    );
    assert!(header.contains("deprecated"), "{header}");
    assert!(
        header.contains("config.alloy"),
        "header must point to Alloy:\n{header}"
    );
    assert!(header.contains("-config.expand-env"), "{header}");

    // The agent with -config.expand-env substitutes ${VAR}; so do we, with stand-ins.
    let vars = [
        (
            "GRAFANA_CLOUD_PROMETHEUS_URL",
            "https://prometheus.example.com/api/prom/push",
        ),
        ("GRAFANA_CLOUD_PROMETHEUS_USER", "123456"),
        ("GRAFANA_CLOUD_API_KEY", "glc_example"),
    ];
    let mut expanded = text.clone();
    for (k, v) in vars {
        assert!(text.contains(&format!("${{{k}}}")), "${{{k}}} not used");
        expanded = expanded.replace(&format!("${{{k}}}"), v);
    }
    assert!(
        !expanded
            .lines()
            .any(|l| !l.trim_start().starts_with('#') && l.contains("${")),
        "an unknown ${{VAR}} is left"
    );
    let agent = yaml(&expanded, "deploy/grafana-agent.yml");
    let metrics = &agent["metrics"];
    s(&metrics["wal_directory"], "metrics.wal_directory");
    let rw = seq(&metrics["global"]["remote_write"], "remote_write");
    assert_eq!(
        rw[0]["basic_auth"]["password"].as_str(),
        Some("glc_example")
    );

    // Its global + remote_write + scrape_configs are Prometheus's own syntax.
    let scrape_configs: Vec<Yaml> = seq(&metrics["configs"], "metrics.configs")
        .iter()
        .flat_map(|c| seq(&c["scrape_configs"], "scrape_configs").clone())
        .collect();
    let job = scrape_configs
        .iter()
        .find(|j| j["job_name"].as_str() == Some("stack_exporter"))
        .expect("a stack_exporter job");
    assert!(serde_yaml::to_string(job)
        .unwrap()
        .contains("127.0.0.1:9650"));
    let mut prom = serde_yaml::Mapping::new();
    prom.insert("global".into(), metrics["global"].clone());
    if let Some(g) = prom.get_mut("global").and_then(|g| g.as_mapping_mut()) {
        g.remove("remote_write");
    }
    prom.insert("remote_write".into(), Yaml::Sequence(rw.clone()));
    prom.insert("scrape_configs".into(), Yaml::Sequence(scrape_configs));
    let dir = common::tempdir("deploy-agent-");
    let path = dir.path().join("agent-as-prometheus.yml");
    fs::write(&path, serde_yaml::to_string(&prom).unwrap()).unwrap();
    let (ok, out) = promtool(&["check", "config", path.to_str().unwrap()], dir.path());
    assert!(ok, "{out}");
}

// ---------------------------------------------------------------------------------------
// Kubernetes
// ---------------------------------------------------------------------------------------

/// Every document of every `deploy/kubernetes/*.yml`, with its file name.
fn k8s_docs() -> Vec<(String, Yaml)> {
    let mut files: Vec<_> = fs::read_dir(root().join("deploy/kubernetes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let text = fs::read_to_string(&path).unwrap();
        for doc in yaml_docs(&text, &name) {
            docs.push((name.clone(), doc));
        }
    }
    docs
}

fn k8s_one(kind: &str) -> Yaml {
    let found: Vec<Yaml> = k8s_docs()
        .into_iter()
        .filter(|(_, d)| d["kind"].as_str() == Some(kind))
        .map(|(_, d)| d)
        .collect();
    assert_eq!(found.len(), 1, "expected one {kind}");
    found.into_iter().next().unwrap()
}

fn exporter_container(deployment: &Yaml) -> Yaml {
    seq(
        &deployment["spec"]["template"]["spec"]["containers"],
        "containers",
    )
    .iter()
    .find(|c| c["name"].as_str() == Some("stack-exporter"))
    .expect("a container named stack-exporter")
    .clone()
}

/// A probe's or Service's `port`, named or numeric, as a number; `None` for a name the
/// container does not have.
fn try_container_port(container: &Yaml, port: &Yaml) -> Option<u64> {
    if let Some(n) = port.as_u64() {
        return Some(n);
    }
    let name = s(port, "port");
    seq(&container["ports"], "ports")
        .iter()
        .find(|p| p["name"].as_str() == Some(name))
        .and_then(|p| p["containerPort"].as_u64())
}

fn container_port(container: &Yaml, port: &Yaml) -> u64 {
    try_container_port(container, port).unwrap_or_else(|| panic!("no container port {port:?}"))
}

/// A memory quantity (`16Mi`, `64M`, `1Gi`, bytes) in bytes.
fn memory_bytes(q: &str) -> u64 {
    let units = [
        ("Ki", 1u64 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("k", 1000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
    ];
    for (suffix, mul) in units {
        if let Some(n) = q.strip_suffix(suffix) {
            return n.parse::<u64>().expect("memory quantity") * mul;
        }
    }
    q.parse().expect("memory quantity")
}

/// The exporter config inside the ConfigMap, and the path it is mounted at.
fn configmap_config() -> (String, String) {
    let deployment = k8s_one("Deployment");
    let c = exporter_container(&deployment);
    let arg = seq(&c["args"], "args")
        .iter()
        .map(|a| s(a, "arg"))
        .find_map(|a| a.strip_prefix("--config.file="))
        .expect("--config.file=PATH in the sidecar's args")
        .to_owned();
    let cm = k8s_one("ConfigMap");
    let cm_name = s(&cm["metadata"]["name"], "ConfigMap name");
    let volume = seq(
        &deployment["spec"]["template"]["spec"]["volumes"],
        "volumes",
    )
    .iter()
    .find(|v| v["configMap"]["name"].as_str() == Some(cm_name))
    .expect("a volume of the ConfigMap");
    let mount = seq(&c["volumeMounts"], "volumeMounts")
        .iter()
        .find(|m| m["name"] == volume["name"])
        .expect("the ConfigMap volume mounted in the sidecar");
    assert_eq!(mount["readOnly"].as_bool(), Some(true));
    let mount_path = s(&mount["mountPath"], "mountPath");
    let key = arg
        .strip_prefix(&format!("{}/", mount_path.trim_end_matches('/')))
        .unwrap_or_else(|| panic!("--config.file={arg} is not under {mount_path}"));
    let text = s(&cm["data"][key], "the ConfigMap key of --config.file").to_owned();
    (text, arg)
}

#[test]
fn kubernetes_manifests_parse_and_the_kustomization_lists_them_all() {
    let docs = k8s_docs();
    let kinds: BTreeSet<&str> = docs
        .iter()
        .map(|(f, d)| s(&d["kind"], &format!("{f}: kind")))
        .collect();
    let want: BTreeSet<&str> = [
        "ConfigMap",
        "Deployment",
        "Kustomization",
        "Service",
        "ServiceMonitor",
    ]
    .into();
    assert_eq!(kinds, want);
    for (file, d) in &docs {
        s(&d["apiVersion"], &format!("{file}: apiVersion"));
        if d["kind"] != "Kustomization" {
            s(&d["metadata"]["name"], &format!("{file}: metadata.name"));
        }
    }
    let kustomization = k8s_one("Kustomization");
    let listed: BTreeSet<&str> = seq(&kustomization["resources"], "resources")
        .iter()
        .map(|r| s(r, "resource"))
        .collect();
    let files: BTreeSet<&str> = docs
        .iter()
        .filter(|(_, d)| d["kind"] != "Kustomization")
        .map(|(f, _)| f.as_str())
        .collect();
    assert_eq!(listed, files, "kustomization.yml must list every manifest");
}

#[test]
fn kubernetes_sidecar_has_ports_probes_resources_secrets_and_a_locked_down_context() {
    let deployment = k8s_one("Deployment");
    let pod = &deployment["spec"]["template"];
    let c = exporter_container(&deployment);

    let ports = seq(&c["ports"], "ports");
    assert!(
        ports
            .iter()
            .any(|p| p["containerPort"].as_u64() == Some(9650)),
        "containerPort 9650"
    );
    let live = &c["livenessProbe"]["httpGet"];
    let ready = &c["readinessProbe"]["httpGet"];
    assert_eq!(live["path"].as_str(), Some("/health"));
    assert_eq!(ready["path"].as_str(), Some("/ready"));
    assert_eq!(container_port(&c, &live["port"]), 9650);
    assert_eq!(container_port(&c, &ready["port"]), 9650);

    // Scrape annotations.
    let ann = &pod["metadata"]["annotations"];
    assert_eq!(ann["prometheus.io/scrape"].as_str(), Some("true"));
    assert_eq!(ann["prometheus.io/port"].as_str(), Some("9650"));
    assert_eq!(ann["prometheus.io/path"].as_str(), Some("/metrics"));

    // Resources sized from the ~10 MB resident memory we measure.
    let res = &c["resources"];
    let req = memory_bytes(s(&res["requests"]["memory"], "requests.memory"));
    let lim = memory_bytes(s(&res["limits"]["memory"], "limits.memory"));
    assert!(req >= 10 << 20, "memory request below the measured RSS");
    assert!(
        (3 * (10 << 20)..=256 << 20).contains(&lim),
        "memory limit {lim}"
    );
    s(&res["requests"]["cpu"], "requests.cpu");
    s(&res["limits"]["cpu"], "limits.cpu");

    // Non-root, read-only, nothing extra; the user is the image's.
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"].as_bool(), Some(true));
    assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(sc["capabilities"]["drop"][0].as_str(), Some("ALL"));
    assert_eq!(sc["runAsUser"].as_u64(), Some(dockerfile_uid()));
    assert_eq!(
        pod["spec"]["securityContext"]["seccompProfile"]["type"].as_str(),
        Some("RuntimeDefault")
    );

    // The URLs come from a Secret, by reference.
    let env = seq(&c["env"], "env");
    for var in ["DATABASE_URL", "REDIS_URL"] {
        let e = env
            .iter()
            .find(|e| e["name"].as_str() == Some(var))
            .unwrap_or_else(|| panic!("env {var}"));
        assert!(e.get("value").is_none(), "{var} must not be inline");
        assert_eq!(e["valueFrom"]["secretKeyRef"]["key"].as_str(), Some(var));
        s(&e["valueFrom"]["secretKeyRef"]["name"], "secretKeyRef.name");
    }
}

#[test]
fn kubernetes_service_and_servicemonitor_select_the_pods_and_the_metrics_port() {
    let deployment = k8s_one("Deployment");
    let pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        .as_mapping()
        .expect("pod labels")
        .clone();
    let service = k8s_one("Service");
    let selector = service["spec"]["selector"].as_mapping().expect("selector");
    for (k, v) in selector {
        assert_eq!(pod_labels.get(k), Some(v), "Service selector {k:?}");
    }
    let c = exporter_container(&deployment);
    let metrics_port = seq(&service["spec"]["ports"], "Service ports")
        .iter()
        .find(|p| try_container_port(&c, &p["targetPort"]) == Some(9650))
        .expect("a Service port to the exporter");
    let port_name = s(&metrics_port["name"], "Service port name");

    let sm = k8s_one("ServiceMonitor");
    assert_eq!(sm["apiVersion"].as_str(), Some("monitoring.coreos.com/v1"));
    let service_labels = service["metadata"]["labels"].as_mapping().expect("labels");
    for (k, v) in sm["spec"]["selector"]["matchLabels"]
        .as_mapping()
        .expect("matchLabels")
    {
        assert_eq!(
            service_labels.get(k),
            Some(v),
            "ServiceMonitor selector {k:?}"
        );
    }
    let endpoint = &seq(&sm["spec"]["endpoints"], "endpoints")[0];
    assert_eq!(endpoint["port"].as_str(), Some(port_name));
    assert_eq!(endpoint["path"].as_str(), Some("/metrics"));
}

#[test]
fn kubernetes_configmap_config_is_valid_and_serves_the_paths_the_manifests_use() {
    let (text, mount_path) = configmap_config();
    assert_eq!(mount_path, "/etc/stack_exporter/stack_exporter.yml");
    let dir = common::tempdir("deploy-k8s-");
    let path = dir.path().join("stack_exporter.yml");
    fs::write(&path, &text).unwrap();

    let out = check_config(&path, FAKE_SECRETS);
    let shown = output_text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(!shown.contains("s3cret"), "a secret was printed:\n{shown}");
    let cfg = yaml(&text, "ConfigMap config");
    assert_eq!(
        port_of(s(&cfg["web"]["listen_address"], "listen_address")),
        9650
    );
    let out = check_config(&path, &[]);
    assert!(
        !out.status.success(),
        "must require DATABASE_URL and REDIS_URL"
    );

    // A real exporter with this config (the app port has nothing behind it) answers the
    // liveness, readiness and scrape paths of deployment.yml and servicemonitor.yml.
    let deployment = k8s_one("Deployment");
    let c = exporter_container(&deployment);
    let exporter = ExporterProcess::builder()
        .config(&text)
        .env("DATABASE_URL", LOCAL_DATABASE_URL)
        .env("REDIS_URL", LOCAL_REDIS_URL)
        .start();
    let live = s(&c["livenessProbe"]["httpGet"]["path"], "liveness path");
    assert_eq!(exporter.get(live).status, 200, "{live}");
    let ready = s(&c["readinessProbe"]["httpGet"]["path"], "readiness path");
    wait_until(Duration::from_secs(20), ready, || {
        exporter.get(ready).status == 200
    });
    let sm = k8s_one("ServiceMonitor");
    let metrics_path = s(&sm["spec"]["endpoints"][0]["path"], "endpoint path");
    let body = exporter.get(metrics_path);
    assert_eq!(body.status, 200);
    let text = body.text();
    for line in [
        "pg_up{source=\"main\"} 1",
        "redis_up{source=\"cache\"} 1",
        "probe_success{",
    ] {
        assert!(text.contains(line), "{line} missing from {metrics_path}");
    }
}

#[test]
fn kubectl_kustomize_renders_the_manifests() {
    // kubectl is not a Debian package here and scripts/test.sh does not install it; the
    // checks above do not need it. Where it is installed, render with it too.
    let Ok(out) = Command::new("kubectl")
        .args(["kustomize", "deploy/kubernetes"])
        .current_dir(root())
        .output()
    else {
        eprintln!("kubectl is not installed: `kubectl kustomize` not run");
        return;
    };
    assert!(out.status.success(), "{}", output_text(&out));
    let rendered = yaml_docs(&String::from_utf8_lossy(&out.stdout), "kustomize output");
    assert_eq!(
        rendered.len(),
        4,
        "ConfigMap, Service, Deployment, ServiceMonitor"
    );
}

// ---------------------------------------------------------------------------------------
// Fly.io
// ---------------------------------------------------------------------------------------

fn fly_toml() -> toml::Table {
    read("deploy/fly.toml")
        .parse()
        .unwrap_or_else(|e| panic!("deploy/fly.toml: {e}"))
}

fn fly_machine() -> Json {
    serde_json::from_str(&read("deploy/fly-machine.json"))
        .unwrap_or_else(|e| panic!("deploy/fly-machine.json: {e}"))
}

fn fly_container<'a>(machine: &'a Json, name: &str) -> &'a Json {
    machine["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name}"))
}

/// Fails on any key of `obj` that is not in `allowed` (Fly ignores unknown fields, so a
/// typo would silently do nothing).
fn known_keys(obj: &Json, allowed: &[&str], what: &str) {
    for key in obj
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not an object"))
        .keys()
    {
        assert!(
            allowed.contains(&key.as_str()),
            "{what}: unknown field {key:?}"
        );
    }
}

#[test]
fn fly_toml_points_metrics_at_the_exporter_and_uses_the_machine_config() {
    let t = fly_toml();
    assert!(t["app"].as_str().is_some_and(|a| !a.is_empty()));
    let metrics = t["metrics"].as_table().expect("[metrics]");
    assert_eq!(metrics["port"].as_integer(), Some(9650));
    assert_eq!(metrics["path"].as_str(), Some("/metrics"));

    let exp = t["experimental"].as_table().expect("[experimental]");
    let machine_config = exp["machine_config"].as_str().expect("machine_config");
    assert_eq!(machine_config, "fly-machine.json");
    assert!(root().join("deploy").join(machine_config).is_file());
    let machine = fly_machine();
    let app = fly_container(&machine, exp["container"].as_str().expect("container"));

    // The proxy's port is the one the app's health check and the exporter's probe use.
    let internal = t["http_service"]["internal_port"]
        .as_integer()
        .expect("internal_port");
    assert_eq!(
        app["healthchecks"][0]["http"]["port"].as_i64(),
        Some(internal)
    );
    let cfg = yaml(
        &read("deploy/stack_exporter.fly.yml"),
        "stack_exporter.fly.yml",
    );
    let probe = s(&cfg["apps"][0]["probes"][0]["url"], "probe url");
    assert!(
        probe.contains(&format!("127.0.0.1:${{APP_PORT:-{internal}}}/")),
        "the probe must reach the app on localhost:{internal}: {probe}"
    );
    // Fly scrapes the Machine's address, not its loopback.
    let listen = s(&cfg["web"]["listen_address"], "listen_address");
    assert_eq!(port_of(listen) as i64, 9650);
    assert!(!listen.starts_with("127.") && !listen.starts_with("[::1]"));
    // Nothing stops the Machine (and with it the metrics).
    assert_eq!(
        t["http_service"]["auto_stop_machines"].as_str(),
        Some("off")
    );
}

#[test]
fn fly_machine_config_runs_the_app_and_the_exporter_sidecar() {
    // Field names from Fly's ContainerConfig (fly-go machine_types.go).
    const CONTAINER: &[&str] = &[
        "name",
        "image",
        "exec",
        "entrypoint",
        "cmd",
        "user",
        "env",
        "secrets",
        "env_from",
        "files",
        "restart",
        "stop",
        "depends_on",
        "healthchecks",
        "mounts",
    ];
    const HEALTHCHECK: &[&str] = &[
        "name",
        "interval",
        "grace_period",
        "success_threshold",
        "failure_threshold",
        "timeout",
        "kind",
        "unhealthy",
        "http",
        "tcp",
        "exec",
    ];
    const HTTP: &[&str] = &[
        "port",
        "method",
        "path",
        "headers",
        "scheme",
        "tls_skip_verify",
        "tls_server_name",
    ];
    let machine = fly_machine();
    known_keys(
        &machine,
        &[
            "containers",
            "guest",
            "services",
            "metrics",
            "checks",
            "restart",
        ],
        "machine config",
    );
    let containers = machine["containers"].as_array().expect("containers");
    let names: BTreeSet<&str> = containers
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        names.len(),
        containers.len(),
        "container names must be unique"
    );
    for c in containers {
        let name = c["name"].as_str().unwrap();
        known_keys(c, CONTAINER, name);
        assert!(
            c["image"].as_str().is_some_and(|i| !i.is_empty()),
            "{name}: image"
        );
        for h in c["healthchecks"].as_array().into_iter().flatten() {
            known_keys(h, HEALTHCHECK, &format!("{name} healthcheck"));
            if let Some(kind) = h.get("kind") {
                assert!(
                    kind == "liveness" || kind == "readiness",
                    "{name}: kind {kind}"
                );
            }
            if let Some(http) = h.get("http") {
                known_keys(http, HTTP, &format!("{name} http check"));
            }
        }
        for d in c["depends_on"].as_array().into_iter().flatten() {
            assert!(
                names.contains(d["name"].as_str().unwrap_or("")),
                "{name}: depends_on"
            );
            let cond = d["condition"].as_str().unwrap_or("");
            assert!(["healthy", "started", "exited_successfully"].contains(&cond));
        }
        for f in c["files"].as_array().into_iter().flatten() {
            known_keys(
                f,
                &[
                    "guest_path",
                    "raw_value",
                    "secret_name",
                    "local_path",
                    "mode",
                ],
                "file",
            );
            if let Some(local) = f["local_path"].as_str() {
                assert!(
                    root().join("deploy").join(local).is_file(),
                    "{local} missing"
                );
            }
        }
    }

    let exporter = fly_container(&machine, "stack-exporter");
    // Exactly the two secrets, from Fly secrets into its environment.
    let secrets: BTreeSet<&str> = exporter["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .map(|s| {
            known_keys(s, &["env_var", "name"], "secret");
            s["env_var"].as_str().expect("env_var")
        })
        .collect();
    assert_eq!(secrets, BTreeSet::from(["DATABASE_URL", "REDIS_URL"]));
    // --config.file is the file written into the container.
    let config_arg = exporter["cmd"]
        .as_array()
        .expect("cmd")
        .iter()
        .filter_map(|a| a.as_str()?.strip_prefix("--config.file="))
        .next()
        .expect("--config.file= in cmd");
    let file = exporter["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["guest_path"] == config_arg)
        .expect("the config file in files");
    assert_eq!(file["local_path"].as_str(), Some("stack_exporter.fly.yml"));
    let health = &exporter["healthchecks"][0]["http"];
    assert_eq!(health["path"].as_str(), Some("/health"));
    assert_eq!(health["port"].as_i64(), Some(9650));
}

#[test]
fn fly_exporter_config_reads_its_urls_from_fly_secrets() {
    let path = root().join("deploy/stack_exporter.fly.yml");
    let text = read("deploy/stack_exporter.fly.yml");
    for var in ["DATABASE_URL", "REDIS_URL"] {
        assert!(
            text.contains(&format!("\"${{{var}}}\"")),
            "${{{var}}} without default"
        );
    }
    let out = check_config(&path, FAKE_SECRETS);
    let shown = output_text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(!shown.contains("s3cret"), "a secret was printed:\n{shown}");
    // A secret that was not set stops it, naming the variable.
    let out = check_config(&path, &FAKE_SECRETS[1..]);
    assert!(!out.status.success());
    assert!(
        output_text(&out).contains("DATABASE_URL"),
        "{}",
        output_text(&out)
    );
}

// ---------------------------------------------------------------------------------------
// Docker
// ---------------------------------------------------------------------------------------

/// The Dockerfile's instructions (continuation lines joined, comments dropped) as
/// (INSTRUCTION, arguments).
fn dockerfile() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in read("deploy/Dockerfile").lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(part) = t.strip_suffix('\\') {
            current.push_str(part);
            current.push(' ');
            continue;
        }
        current.push_str(t);
        let (instr, args) = current
            .split_once(char::is_whitespace)
            .unwrap_or((&current, ""));
        out.push((instr.to_uppercase(), args.trim().to_owned()));
        current.clear();
    }
    out
}

/// The instructions of the last stage.
fn final_stage() -> Vec<(String, String)> {
    let all = dockerfile();
    let last_from = all.iter().rposition(|(i, _)| i == "FROM").expect("FROM");
    all[last_from..].to_vec()
}

fn dockerfile_uid() -> u64 {
    let user = final_stage()
        .into_iter()
        .rfind(|(i, _)| i == "USER")
        .expect("USER in the final stage")
        .1;
    let uid = user.split(':').next().unwrap();
    uid.parse()
        .unwrap_or_else(|_| panic!("USER {user} must be numeric"))
}

/// The commands that build the static binary: in the Dockerfile and in scripts/test.sh.
const STATIC_BUILD: &[&str] = &[
    "rustup target add x86_64-unknown-linux-musl",
    "musl-tools",
    "cargo build --release --locked --target x86_64-unknown-linux-musl",
];

#[test]
fn dockerfile_builds_the_static_binary_into_a_non_root_scratch_image() {
    let all = dockerfile();
    let froms: Vec<&str> = all
        .iter()
        .filter(|(i, _)| i == "FROM")
        .map(|(_, a)| a.as_str())
        .collect();
    assert_eq!(froms.len(), 2, "multi-stage: builder and final: {froms:?}");
    assert!(
        froms[0].contains("rust:") && froms[0].ends_with(" AS builder"),
        "{}",
        froms[0]
    );
    assert!(
        froms[1] == "scratch" || froms[1].starts_with("gcr.io/distroless/static"),
        "final stage {}",
        froms[1]
    );
    let builder_runs: String = all
        .iter()
        .filter(|(i, _)| i == "RUN")
        .map(|(_, a)| a.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let test_sh = read("scripts/test.sh");
    for cmd in STATIC_BUILD {
        assert!(
            builder_runs.contains(cmd),
            "Dockerfile does not run `{cmd}`"
        );
        assert!(
            test_sh.contains(cmd),
            "scripts/test.sh does not run `{cmd}`"
        );
    }

    let last = final_stage();
    let uid = dockerfile_uid();
    assert_ne!(uid, 0, "must not run as root");
    let expose: Vec<&str> = last
        .iter()
        .filter(|(i, _)| i == "EXPOSE")
        .map(|(_, a)| a.as_str())
        .collect();
    assert_eq!(expose, ["9650"]);
    let entrypoint = &last
        .iter()
        .find(|(i, _)| i == "ENTRYPOINT")
        .expect("ENTRYPOINT")
        .1;
    let entrypoint: Vec<String> =
        serde_json::from_str(entrypoint).expect("ENTRYPOINT in exec (JSON) form");
    let copies: Vec<&str> = last
        .iter()
        .filter(|(i, _)| i == "COPY")
        .map(|(_, a)| a.as_str())
        .collect();
    let binary = copies
        .iter()
        .find(|c| c.starts_with("--from=builder "))
        .and_then(|c| c.split_whitespace().last())
        .expect("COPY --from=builder");
    assert_eq!(entrypoint[0], binary);
    let example = copies
        .iter()
        .find(|c| c.starts_with("config/stack_exporter.yml "))
        .and_then(|c| c.split_whitespace().last())
        .expect("COPY of the example config");
    // Documented, and not where the exporter would load it by itself.
    assert_ne!(example, "/etc/stack_exporter/stack_exporter.yml");
    assert!(
        read("docs/deploy/docker.md").contains(example),
        "{example} not documented"
    );

    let ignore = read(".dockerignore");
    assert!(ignore
        .lines()
        .any(|l| l.trim() == "target/" || l.trim() == "target"));
}

// ---------------------------------------------------------------------------------------
// systemd
// ---------------------------------------------------------------------------------------

const UNIT: &str = "deploy/stack_exporter.service";

/// `Key=value` settings of the unit (last one wins), by section.
fn unit_settings() -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in read(UNIT).lines() {
        let t = line.trim();
        if t.starts_with('#') || t.starts_with('[') || t.is_empty() {
            continue;
        }
        let (k, v) = t
            .split_once('=')
            .unwrap_or_else(|| panic!("bad line {t:?}"));
        out.entry(k.to_owned()).or_default().push(v.to_owned());
    }
    out
}

/// The unit with ExecStart pointing at the binary this test run built (verify checks
/// that the command exists), in a temp dir.
fn unit_for_verify() -> (tempfile::TempDir, PathBuf) {
    let text = read(UNIT);
    assert!(text.contains("ExecStart=/usr/local/bin/stack_exporter "));
    let text = text.replace(
        "ExecStart=/usr/local/bin/stack_exporter ",
        &format!("ExecStart={} ", exporter_bin().display()),
    );
    let dir = common::tempdir("deploy-systemd-");
    let path = dir.path().join("stack_exporter.service");
    fs::write(&path, text).unwrap();
    (dir, path)
}

fn systemd_analyze(args: &[&str]) -> Output {
    Command::new("systemd-analyze")
        .args(args)
        .output()
        .expect("systemd-analyze not found: run `bash scripts/test.sh`, which installs systemd")
}

#[test]
fn systemd_unit_passes_systemd_analyze_verify_without_a_warning() {
    let (_dir, path) = unit_for_verify();
    let out = systemd_analyze(&["verify", path.to_str().unwrap()]);
    let text = output_text(&out);
    // verify exits 0 on unknown keys and bad values; it only warns. Any output fails.
    assert!(out.status.success() && text.trim().is_empty(), "{text}");
}

#[test]
fn systemd_unit_is_sandboxed() {
    let (_dir, path) = unit_for_verify();
    // Exposure at most 2.0 of 10 ("OK"); the threshold is in tenths.
    let out = systemd_analyze(&[
        "security",
        "--offline=true",
        "--threshold=20",
        "--no-pager",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", output_text(&out));

    let u = unit_settings();
    let one = |k: &str| -> &str {
        u.get(k)
            .and_then(|v| v.last())
            .unwrap_or_else(|| panic!("{k}= missing"))
    };
    assert_eq!(one("DynamicUser"), "yes");
    assert_eq!(one("ExecReload"), "/bin/kill -HUP $MAINPID");
    assert!(one("EnvironmentFile").ends_with("/etc/stack_exporter/stack_exporter.env"));
    assert_eq!(
        one("ExecStart"),
        "/usr/local/bin/stack_exporter --config.file=/etc/stack_exporter/stack_exporter.yml"
    );
}

// ---------------------------------------------------------------------------------------
// Grafana Alloy
// ---------------------------------------------------------------------------------------

/// A value of the Alloy syntax, as far as these checks need it.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Str(String),
    Num(String),
    Bool(bool),
    Null,
    List(Vec<Expr>),
    Object(Vec<(String, Expr)>),
    /// A dotted reference such as `prometheus.remote_write.x.receiver`.
    Ref(String),
    /// A call such as `sys.env("X")`.
    Call(String, Vec<Expr>),
}

#[derive(Debug, Default)]
struct Block {
    name: String,
    label: Option<String>,
    attrs: Vec<(String, Expr)>,
    blocks: Vec<Block>,
}

impl Block {
    fn attr(&self, name: &str) -> Option<&Expr> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    fn blocks_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
        self.blocks.iter().filter(move |b| b.name == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    P(char),
}

/// Tokens of an Alloy file: identifiers, "strings" (with escapes) and `raw strings`,
/// numbers, punctuation; `//` and `/* */` comments skipped.
fn alloy_tokens(src: &str) -> Result<Vec<(Tok, usize)>, String> {
    let chars: Vec<char> = src.chars().collect();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
                if i + 1 >= chars.len() {
                    return Err(format!("line {line}: unterminated comment"));
                }
                i += 2;
            }
            '"' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None | Some('\n') => {
                            return Err(format!("line {line}: unterminated string"))
                        }
                        Some('"') => break,
                        Some('\\') => {
                            let e = chars.get(i + 1).copied().unwrap_or(' ');
                            if !"\"\\nrt".contains(e) {
                                return Err(format!("line {line}: bad escape \\{e}"));
                            }
                            v.push(e);
                            i += 2;
                        }
                        Some(&ch) => {
                            v.push(ch);
                            i += 1;
                        }
                    }
                }
                i += 1;
                out.push((Tok::Str(v), line));
            }
            '`' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && chars[i] != '`' {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(format!("line {line}: unterminated raw string"));
                }
                out.push((Tok::Str(chars[start..i].iter().collect()), line));
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push((Tok::Ident(chars[start..i].iter().collect()), line));
            }
            c if c.is_ascii_digit() => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                out.push((Tok::Num(chars[start..i].iter().collect()), line));
            }
            '{' | '}' | '[' | ']' | '(' | ')' | ',' | '.' | '=' => {
                out.push((Tok::P(c), line));
                i += 1;
            }
            other => return Err(format!("line {line}: unexpected {other:?}")),
        }
    }
    Ok(out)
}

struct AlloyParser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

impl AlloyParser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }
    fn line(&self) -> usize {
        self.toks
            .get(self.pos)
            .or(self.toks.last())
            .map_or(0, |t| t.1)
    }
    fn next(&mut self) -> Result<Tok, String> {
        let t = self.peek().cloned().ok_or("unexpected end of file")?;
        self.pos += 1;
        Ok(t)
    }
    fn expect(&mut self, c: char) -> Result<(), String> {
        let line = self.line();
        match self.next()? {
            Tok::P(p) if p == c => Ok(()),
            t => Err(format!("line {line}: expected {c:?}, found {t:?}")),
        }
    }
    /// Alloy's scanner ends a line after a value (as Go's does), so the last element of
    /// a list, object or call needs a comma when the closing bracket is on a later line.
    fn close_on_same_line(&self) -> Result<(), String> {
        let (prev, close) = (self.toks[self.pos - 2].1, self.toks[self.pos - 1].1);
        if close > prev {
            return Err(format!("line {prev}: missing ',' before the newline"));
        }
        Ok(())
    }
    fn ident(&mut self) -> Result<String, String> {
        let line = self.line();
        match self.next()? {
            Tok::Ident(s) => Ok(s),
            t => Err(format!("line {line}: expected a name, found {t:?}")),
        }
    }

    /// Attributes and blocks up to `}` (or the end of the file at the top).
    fn body(&mut self, top: bool) -> Result<Block, String> {
        let mut b = Block::default();
        loop {
            match self.peek() {
                None if top => return Ok(b),
                Some(Tok::P('}')) if !top => return Ok(b),
                _ => {}
            }
            let mut name = self.ident()?;
            if self.peek() == Some(&Tok::P('=')) {
                self.pos += 1;
                let v = self.expr()?;
                if b.attrs.iter().any(|(k, _)| *k == name) {
                    return Err(format!("line {}: attribute {name} set twice", self.line()));
                }
                b.attrs.push((name, v));
                continue;
            }
            while self.peek() == Some(&Tok::P('.')) {
                self.pos += 1;
                name = format!("{name}.{}", self.ident()?);
            }
            let label = match self.peek() {
                Some(Tok::Str(l)) => {
                    let l = l.clone();
                    let ident = l.chars().next().is_some_and(|c| !c.is_ascii_digit())
                        && l.chars().all(|c| c.is_alphanumeric() || c == '_');
                    if !ident {
                        return Err(format!(
                            "line {}: label {l:?} is not an identifier",
                            self.line()
                        ));
                    }
                    self.pos += 1;
                    Some(l)
                }
                _ => None,
            };
            self.expect('{')?;
            let mut child = self.body(false)?;
            self.expect('}')?;
            child.name = name;
            child.label = label;
            b.blocks.push(child);
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let line = self.line();
        match self.next()? {
            Tok::Str(s) => Ok(Expr::Str(s)),
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Ident(i) if i == "true" || i == "false" => Ok(Expr::Bool(i == "true")),
            Tok::Ident(i) if i == "null" => Ok(Expr::Null),
            Tok::Ident(first) => {
                let mut path = first;
                while self.peek() == Some(&Tok::P('.')) {
                    self.pos += 1;
                    path = format!("{path}.{}", self.ident()?);
                }
                if self.peek() != Some(&Tok::P('(')) {
                    return Ok(Expr::Ref(path));
                }
                self.pos += 1;
                let args = self.list_items(')')?;
                Ok(Expr::Call(path, args))
            }
            Tok::P('[') => Ok(Expr::List(self.list_items(']')?)),
            Tok::P('{') => {
                let mut fields = Vec::new();
                loop {
                    let key = match self.next()? {
                        Tok::P('}') => break,
                        Tok::Ident(k) | Tok::Str(k) => k,
                        t => return Err(format!("line {line}: bad object key {t:?}")),
                    };
                    self.expect('=')?;
                    fields.push((key, self.expr()?));
                    match self.next()? {
                        Tok::P(',') => {}
                        Tok::P('}') => {
                            self.close_on_same_line()?;
                            break;
                        }
                        t => return Err(format!("line {line}: expected , or }}, found {t:?}")),
                    }
                }
                Ok(Expr::Object(fields))
            }
            t => Err(format!("line {line}: unexpected {t:?}")),
        }
    }

    /// Comma-separated expressions up to `close` (a trailing comma allowed).
    fn list_items(&mut self, close: char) -> Result<Vec<Expr>, String> {
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(&Tok::P(close)) {
                self.pos += 1;
                return Ok(items);
            }
            items.push(self.expr()?);
            match self.next()? {
                Tok::P(',') => {}
                Tok::P(c) if c == close => {
                    self.close_on_same_line()?;
                    return Ok(items);
                }
                t => {
                    return Err(format!(
                        "line {}: expected , or {close}, found {t:?}",
                        self.line()
                    ))
                }
            }
        }
    }
}

fn parse_alloy(src: &str) -> Result<Block, String> {
    let mut p = AlloyParser {
        toks: alloy_tokens(src)?,
        pos: 0,
    };
    p.body(true)
}

fn env_call(e: Option<&Expr>) -> Option<&str> {
    match e? {
        Expr::Call(f, args) if f == "sys.env" => match args.as_slice() {
            [Expr::Str(var)] => Some(var),
            _ => None,
        },
        _ => None,
    }
}

#[test]
fn alloy_reader_rejects_what_alloy_rejects() {
    for bad in [
        "prometheus.scrape \"x\" {\n  targets = [\n",
        "a = \"unterminated\n",
        "a = [1 2]\n",
        "block { a = 1\n a = 2 }\n",
        "a = 1 ;\n",
        "a = [\n  1,\n  2\n]\n",
        "a = {\n  k = 1\n}\n",
        "b \"not-an-identifier\" { }\n",
    ] {
        assert!(parse_alloy(bad).is_err(), "accepted: {bad:?}");
    }
    let ok = parse_alloy("// c\nx.y \"l\" {\n  a = {\"k\" = `raw`, b = [1, 2,],}\n  inner { c = sys.env(\"V\") }\n}\n")
        .unwrap();
    assert_eq!(ok.blocks[0].name, "x.y");
    assert_eq!(env_call(ok.blocks[0].blocks[0].attr("c")), Some("V"));
}

#[test]
fn alloy_config_scrapes_the_exporter_and_remote_writes_with_credentials_from_env() {
    let src = read("deploy/config.alloy");
    let top = parse_alloy(&src).unwrap_or_else(|e| panic!("deploy/config.alloy: {e}"));
    assert!(
        top.attrs.is_empty(),
        "top-level attributes: {:?}",
        top.attrs
    );
    let components: Vec<(String, Option<String>)> = top
        .blocks
        .iter()
        .map(|b| (b.name.clone(), b.label.clone()))
        .collect();
    assert_eq!(
        components,
        [
            (
                "prometheus.scrape".to_owned(),
                Some("stack_exporter".to_owned())
            ),
            (
                "prometheus.remote_write".to_owned(),
                Some("grafana_cloud".to_owned())
            ),
        ]
    );
    let scrape = &top.blocks[0];
    let write = &top.blocks[1];

    // Argument and block names of the two components (Alloy's reference docs).
    const SCRAPE_ARGS: &[&str] = &[
        "targets",
        "forward_to",
        "job_name",
        "extra_metrics",
        "honor_labels",
        "honor_timestamps",
        "params",
        "scrape_interval",
        "scrape_timeout",
        "metrics_path",
        "scheme",
        "sample_limit",
        "bearer_token_file",
        "follow_redirects",
        "enable_http2",
    ];
    const SCRAPE_BLOCKS: &[&str] = &[
        "basic_auth",
        "authorization",
        "oauth2",
        "tls_config",
        "clustering",
    ];
    for (k, _) in &scrape.attrs {
        assert!(
            SCRAPE_ARGS.contains(&k.as_str()),
            "prometheus.scrape: unknown argument {k}"
        );
    }
    for b in &scrape.blocks {
        assert!(
            SCRAPE_BLOCKS.contains(&b.name.as_str()),
            "prometheus.scrape: block {}",
            b.name
        );
    }

    // The exporter's address, the job name of deploy/prometheus.yml, a sane timeout.
    let Some(Expr::List(targets)) = scrape.attr("targets") else {
        panic!("targets must be a list");
    };
    assert!(targets.iter().any(|t| matches!(t, Expr::Object(f)
        if f.contains(&("__address__".to_owned(), Expr::Str("127.0.0.1:9650".to_owned()))))));
    assert_eq!(
        scrape.attr("job_name"),
        Some(&Expr::Str("stack_exporter".into()))
    );
    let dur = |k: &str| match scrape.attr(k) {
        Some(Expr::Str(d)) => humantime::parse_duration(d).expect("duration"),
        other => panic!("{k}: {other:?}"),
    };
    assert!(dur("scrape_timeout") < dur("scrape_interval"));
    let receiver = format!(
        "prometheus.remote_write.{}.receiver",
        write.label.as_deref().unwrap()
    );
    assert_eq!(
        scrape.attr("forward_to"),
        Some(&Expr::List(vec![Expr::Ref(receiver)]))
    );

    // remote_write: one endpoint, URL and basic auth from the environment only.
    assert!(write.attrs.is_empty(), "{:?}", write.attrs);
    let endpoints: Vec<&Block> = write.blocks_named("endpoint").collect();
    assert_eq!(endpoints.len(), 1);
    assert_eq!(write.blocks.len(), 1);
    let endpoint = endpoints[0];
    let auth: Vec<&Block> = endpoint.blocks_named("basic_auth").collect();
    assert_eq!(auth.len(), 1);
    let vars = [
        env_call(endpoint.attr("url")).expect("url = sys.env(...)"),
        env_call(auth[0].attr("username")).expect("username = sys.env(...)"),
        env_call(auth[0].attr("password")).expect("password = sys.env(...)"),
    ];
    let doc = read("docs/deploy/grafana-alloy.md");
    for var in vars {
        assert!(
            doc.contains(&format!("{var}=")),
            "{var} not in docs/deploy/grafana-alloy.md"
        );
        assert!(
            src.contains(&format!("//   {var} ")),
            "{var} not in the file's header"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Docs
// ---------------------------------------------------------------------------------------

#[test]
fn every_deploy_target_has_a_doc_page_linked_from_the_readme() {
    let readme = read("README.md");
    let pages = [
        "docker",
        "fly",
        "kubernetes",
        "systemd",
        "prometheus",
        "grafana-alloy",
    ];
    let mut docs = String::new();
    for page in pages {
        let rel = format!("docs/deploy/{page}.md");
        assert!(
            readme.contains(&format!("({rel})")),
            "README does not link {rel}"
        );
        docs.push_str(&read(&rel));
    }

    // Every shipped file is described in a page ...
    let mut files = Vec::new();
    let mut dirs = vec![root().join("deploy")];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                files.push(p.strip_prefix(root()).unwrap().to_str().unwrap().to_owned());
            }
        }
    }
    for f in &files {
        assert!(
            docs.contains(f.as_str()),
            "{f} is not mentioned in docs/deploy/"
        );
    }

    // ... and every deploy/ path the pages and the README name exists.
    let text = format!("{docs}\n{readme}");
    let mut rest = text.as_str();
    while let Some(at) = rest.find("deploy/") {
        let start = if rest[..at].ends_with("docs/") {
            at - 5
        } else {
            at
        };
        let path: String = rest[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "_./-".contains(*c))
            .collect();
        let path = path.trim_end_matches('.');
        assert!(
            root().join(path).exists(),
            "{path} is named in the docs but does not exist"
        );
        rest = &rest[at + "deploy/".len()..];
    }
}
