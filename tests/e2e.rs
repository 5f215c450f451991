//! The proof (issue 6), end to end and in one test, so the stack starts once: a real
//! PostgreSQL (with a streaming standby and pg_stat_statements) behind PgBouncer, a Redis
//! with queues, two apps serving live traffic metrics (latency histogram, requests by
//! status, queue gauges; one detected, one configured), the exporter polling all of them,
//! and a real Prometheus scraping the exporter and loading every rule file of `alerts/`.
//! Then, through Prometheus's API:
//!
//! 1. every panel query of every dashboard returns data;
//! 2. the panels that show what an alert measures compute the same values as the
//!    alert's expression (taken from its rule file), per source;
//! 3. 1,500 jobs pushed into a BullMQ queue make StackQueueBackup's expression true
//!    (empty before) and the alert pending;
//! 4. a burst of 5xx makes StackHighErrorRate's expression true (empty before) and the
//!    alert pending;
//! 5. every group of every rule file is loaded, evaluated, and every rule has health ok.
//!
//! Every wait is on server-side state, with a deadline.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use common::dashboards::{all, by_uid, expand, has_data, panels, query, query_at, ALERT_PANELS};
use common::rules::{alert_expr, groups, measure_and_threshold, prometheus_with_rules};
use common::test_app::{TestApp, CLASSIC_CONTENT_TYPE};
use common::{
    eventually, free_port, http_get, pgbouncer_users, vector_samples, ExporterProcess,
    TempPgBouncer, TempPostgres, TempPrometheus, TempRedis, TempVictoriaMetrics,
};

/// The Prometheus job scraping the exporter, as in deploy/prometheus.yml (the name
/// StackExporterDown selects).
const JOB: &str = "stack_exporter";

/// The BullMQ queue the jobs are pushed into (a `queues` preset of the Redis source).
const BULLMQ_QUEUE: &str = "emails";
const JOBS_PUSHED: usize = 1500;

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

/// Whether a sample's labels include all of `want`.
fn labels_match(labels: &BTreeMap<String, String>, want: &[(&str, &str)]) -> bool {
    want.iter()
        .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
}

// ---------------------------------------------------------------------------------------
// The apps: live traffic
// ---------------------------------------------------------------------------------------

/// Latency observations per tick of the `api` app: (seconds, requests).
const API_LATENCY: [(f64, u64); 6] = [
    (0.003, 30),
    (0.008, 10),
    (0.02, 6),
    (0.04, 2),
    (0.08, 1),
    (0.2, 1),
];
const API_BOUNDS: [&str; 7] = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "+Inf"];

/// Latency observations per tick of the `worker` app: (milliseconds, calls).
const WORKER_LATENCY: [(f64, u64); 3] = [(5.0, 6), (40.0, 3), (300.0, 1)];
const WORKER_BOUNDS: [&str; 4] = ["10", "100", "1000", "+Inf"];

/// A histogram's cumulative bucket counts and sum.
#[derive(Clone)]
struct Histogram {
    bounds: Vec<f64>,
    buckets: Vec<u64>,
    sum: f64,
}

impl Histogram {
    fn new(bounds: &[&str]) -> Histogram {
        let bounds: Vec<f64> = bounds
            .iter()
            .map(|b| {
                if *b == "+Inf" {
                    f64::INFINITY
                } else {
                    b.parse().unwrap()
                }
            })
            .collect();
        Histogram {
            buckets: vec![0; bounds.len()],
            bounds,
            sum: 0.0,
        }
    }

    fn observe(&mut self, value: f64, n: u64) {
        for (b, c) in self.bounds.iter().zip(self.buckets.iter_mut()) {
            if value <= *b {
                *c += n;
            }
        }
        self.sum += value * n as f64;
    }

    /// Classic text lines of `name` with `labels` (`k="v",` or empty) in front of `le`.
    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[&str]) {
        for (b, c) in bounds.iter().zip(&self.buckets) {
            out.push_str(&format!("{name}_bucket{{{labels}le=\"{b}\"}} {c}\n"));
        }
        let labels = labels.trim_end_matches(',');
        out.push_str(&format!("{name}_sum{{{labels}}} {}\n", self.sum));
        out.push_str(&format!(
            "{name}_count{{{labels}}} {}\n",
            self.buckets.last().copied().unwrap_or(0)
        ));
    }
}

/// What the two apps have counted so far.
struct Counters {
    ticks: u64,
    /// `api`: Go client names (detected): requests by code, latency in seconds.
    api_codes: BTreeMap<&'static str, u64>,
    api_latency: Histogram,
    /// `worker`: its own names (configured): calls by status_code, latency in ms.
    worker_codes: BTreeMap<&'static str, u64>,
    worker_latency: Histogram,
}

impl Counters {
    fn new() -> Counters {
        let mut c = Counters {
            ticks: 0,
            api_codes: [("200", 1000), ("404", 20), ("500", 2)].into(),
            api_latency: Histogram::new(&API_BOUNDS),
            worker_codes: [("200", 300), ("503", 1)].into(),
            worker_latency: Histogram::new(&WORKER_BOUNDS),
        };
        c.api_latency.observe(0.003, 1022);
        c.worker_latency.observe(5.0, 301);
        c
    }

    /// 100 ms of traffic: the api serves 50 requests (2 of them 404, one in 1000 a 5xx:
    /// 0.1 %, well under the 1 % of StackHighErrorRate), the worker 10 calls (one in 500
    /// a 503).
    fn tick(&mut self) {
        self.ticks += 1;
        let api_5xx = u64::from(self.ticks % 20 == 0);
        *self.api_codes.get_mut("200").unwrap() += 48 - api_5xx;
        *self.api_codes.get_mut("404").unwrap() += 2;
        *self.api_codes.get_mut("500").unwrap() += api_5xx;
        for (v, n) in API_LATENCY {
            self.api_latency.observe(v, n);
        }
        let worker_5xx = u64::from(self.ticks % 50 == 0);
        *self.worker_codes.get_mut("200").unwrap() += 10 - worker_5xx;
        *self.worker_codes.get_mut("503").unwrap() += worker_5xx;
        for (v, n) in WORKER_LATENCY {
            self.worker_latency.observe(v, n);
        }
    }

    /// `n` more requests of the api failing with 500 at once (fast failures).
    fn burst_5xx(&mut self, n: u64) {
        *self.api_codes.get_mut("500").unwrap() += n;
        self.api_latency.observe(0.003, n);
    }

    /// What client_golang with promhttp writes: detected by the exporter
    /// (`http_request_duration_seconds`, `http_requests_total` by `code`). Queue gauges
    /// are configured (queues are never detected).
    fn api_body(&self) -> String {
        let mut out = String::from(
            "# HELP http_request_duration_seconds A histogram of latencies for requests.\n\
             # TYPE http_request_duration_seconds histogram\n",
        );
        self.api_latency.render(
            &mut out,
            "http_request_duration_seconds",
            "handler=\"/api\",method=\"get\",",
            &API_BOUNDS,
        );
        out.push_str(
            "# HELP http_requests_total A counter for requests to the wrapped handler.\n\
             # TYPE http_requests_total counter\n",
        );
        for (code, n) in &self.api_codes {
            out.push_str(&format!(
                "http_requests_total{{code=\"{code}\",handler=\"/api\",method=\"get\"}} {n}\n"
            ));
        }
        out.push_str(
            "# HELP api_jobs_waiting Jobs waiting, by queue.\n\
             # TYPE api_jobs_waiting gauge\n\
             api_jobs_waiting{queue=\"reports\"} 7\n\
             api_jobs_waiting{queue=\"thumbnails\"} 2\n\
             # HELP api_active_sessions Sessions open, by region.\n\
             # TYPE api_active_sessions gauge\n\
             api_active_sessions{region=\"eu\"} 12\n\
             api_active_sessions{region=\"us\"} 30\n\
             # HELP api_websocket_connections WebSocket connections open.\n\
             # TYPE api_websocket_connections gauge\n\
             api_websocket_connections 17\n",
        );
        // The app's own process metrics, as every client library exposes them: the
        // exporter dashboard's process panels must not show them as the exporter's.
        out.push_str(&format!(
            "# HELP process_start_time_seconds Start time of the process.\n\
             # TYPE process_start_time_seconds gauge\n\
             process_start_time_seconds 1.7e+09\n\
             # HELP process_resident_memory_bytes Resident memory size in bytes.\n\
             # TYPE process_resident_memory_bytes gauge\n\
             process_resident_memory_bytes 3.1e+08\n\
             # HELP process_cpu_seconds_total Total user and system CPU time.\n\
             # TYPE process_cpu_seconds_total counter\n\
             process_cpu_seconds_total {}\n\
             # HELP process_open_fds Number of open file descriptors.\n\
             # TYPE process_open_fds gauge\n\
             process_open_fds 40\n\
             # HELP process_max_fds Maximum number of open file descriptors.\n\
             # TYPE process_max_fds gauge\n\
             process_max_fds 1024\n",
            self.ticks as f64 * 0.05
        ));
        out
    }

    /// A worker with names of its own, all configured (`detect: false`): latency in
    /// milliseconds without a unit suffix, calls by `status_code`, a queue gauge with a
    /// priority label summed away.
    fn worker_body(&self) -> String {
        let mut out = String::from(
            "# HELP worker_task_duration Task duration in milliseconds.\n\
             # TYPE worker_task_duration histogram\n",
        );
        self.worker_latency.render(
            &mut out,
            "worker_task_duration",
            "task=\"import\",",
            &WORKER_BOUNDS,
        );
        out.push_str(
            "# HELP worker_http_calls_total Calls served, by status.\n\
             # TYPE worker_http_calls_total counter\n",
        );
        for (code, n) in &self.worker_codes {
            out.push_str(&format!(
                "worker_http_calls_total{{status_code=\"{code}\"}} {n}\n"
            ));
        }
        out.push_str(
            "# HELP worker_queue_length Jobs queued, by queue and priority.\n\
             # TYPE worker_queue_length gauge\n\
             worker_queue_length{priority=\"high\",queue=\"imports\"} 3\n\
             worker_queue_length{priority=\"low\",queue=\"imports\"} 4\n",
        );
        out
    }
}

/// Serves the apps' `/api/metrics` and `/worker/metrics` from a thread that counts 100 ms
/// of traffic at a time; stops when dropped (also when the test panics).
struct Traffic {
    counters: Arc<Mutex<Counters>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Traffic {
    fn start(app: Arc<TestApp>) -> Traffic {
        let counters = Arc::new(Mutex::new(Counters::new()));
        let publish = |app: &TestApp, c: &Counters| {
            let (api, worker) = (c.api_body(), c.worker_body());
            app.set_route("/api/metrics", 200, CLASSIC_CONTENT_TYPE, api.as_bytes());
            app.set_route(
                "/worker/metrics",
                200,
                CLASSIC_CONTENT_TYPE,
                worker.as_bytes(),
            );
        };
        publish(&app, &counters.lock().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (counters, stop) = (Arc::clone(&counters), Arc::clone(&stop));
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    thread::sleep(Duration::from_millis(100));
                    let mut c = counters.lock().unwrap_or_else(|e| e.into_inner());
                    c.tick();
                    publish(&app, &c);
                }
            })
        };
        Traffic {
            counters,
            stop,
            thread: Some(thread),
        }
    }

    fn burst_5xx(&self, n: u64) {
        self.counters.lock().unwrap().burst_5xx(n);
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Prometheus's view
// ---------------------------------------------------------------------------------------

fn api_get(prom: &TempPrometheus, path: &str) -> Value {
    let r = http_get(&format!("{}{path}", prom.url()), &[]);
    let json = r.json();
    assert!(
        r.status == 200 && json["status"] == "success",
        "GET {path}: HTTP {}: {json}",
        r.status
    );
    json
}

/// What `/api/v1/rules` says is wrong: (groups of the rule files not loaded, or not
/// evaluated yet, or with other rules than the file; rules whose health is not ok or
/// that have an error).
fn rule_problems(prom: &TempPrometheus) -> (Vec<String>, Vec<String>) {
    let answer = api_get(prom, "/api/v1/rules");
    let loaded = answer["data"]["groups"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut problems = Vec::new();
    let mut unhealthy = Vec::new();
    let mut seen = BTreeSet::new();
    for (file, name, rules) in groups() {
        let file = file.to_str().unwrap().to_string();
        seen.insert((file.clone(), name.clone()));
        let Some(g) = loaded
            .iter()
            .find(|g| g["file"] == file && g["name"] == name)
        else {
            problems.push(format!("group {name} of {file} is not loaded"));
            continue;
        };
        let evaluated = g["lastEvaluation"]
            .as_str()
            .is_some_and(|t| !t.starts_with("0001-"));
        if !evaluated {
            problems.push(format!(
                "group {name} not evaluated yet: {}",
                g["lastEvaluation"]
            ));
        }
        let got: Vec<&str> = g["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["name"].as_str().unwrap_or(""))
            .collect();
        if got != rules {
            problems.push(format!(
                "group {name}: rules {got:?}, the file has {rules:?}"
            ));
        }
        for r in g["rules"].as_array().into_iter().flatten() {
            let error = r["lastError"].as_str().unwrap_or("");
            if r["health"] != "ok" || !error.is_empty() {
                unhealthy.push(format!(
                    "group {name}, rule {}: health {}, lastError {error:?}",
                    r["name"], r["health"]
                ));
            }
        }
    }
    for g in &loaded {
        let key = (
            g["file"].as_str().unwrap_or("").to_string(),
            g["name"].as_str().unwrap_or("").to_string(),
        );
        if !seen.contains(&key) {
            problems.push(format!("unexpected group loaded: {key:?}"));
        }
    }
    (problems, unhealthy)
}

/// The state of the alert `name` whose labels include `want` in `/api/v1/alerts`.
fn alert_state(prom: &TempPrometheus, name: &str, want: &[(&str, &str)]) -> Option<String> {
    let answer = api_get(prom, "/api/v1/alerts");
    answer["data"]["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| {
            let labels: BTreeMap<String, String> = a["labels"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect();
            labels.get("alertname").map(String::as_str) == Some(name) && labels_match(&labels, want)
        })
        .map(|a| a["state"].as_str().unwrap_or("").to_string())
}

/// An instant query's samples reduced to the maximum per `source` (NaN only when all are).
fn max_by_source(answer: &Value) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for (labels, v) in vector_samples(answer) {
        let source = labels.get("source").cloned().unwrap_or_default();
        let e = out.entry(source).or_insert(f64::NAN);
        if e.is_nan() || v > *e {
            *e = v;
        }
    }
    out
}

fn same_values(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|((ka, va), (kb, vb))| {
            ka == kb
                && ((va.is_nan() && vb.is_nan())
                    || (va - vb).abs() <= 1e-9 * va.abs().max(vb.abs()).max(1.0))
        })
}

// ---------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------

#[test]
fn the_stack_proves_its_dashboards_and_alerts() {
    let started = Instant::now();
    let phase = |what: &str| eprintln!("[e2e {:>5.1}s] {what}", started.elapsed().as_secs_f64());

    // PostgreSQL with pg_stat_statements and a streaming standby, PgBouncer in front of
    // it, a Redis with maxmemory, queues, keys and an error reply, two apps with live
    // traffic (one with a health probe), and a Redis source that is down (so the error
    // panels have something).
    let primary = TempPostgres::start();
    let standby = primary.start_standby("e2e_standby");
    primary.psql("CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 1000)");
    // A limit on server connections per database, for the PgBouncer dashboard's line.
    let bouncer = TempPgBouncer::start_with(&primary, &["max_db_connections = 50"]);
    let redis = TempRedis::start_with_args(&["--maxmemory", "64mb"]);
    redis.cli(&["RPUSH", "rq:queue:default", "a", "b", "c"]);
    redis.cli(&["SET", "k", "v", "EX", "3600"]);
    redis.cli(&["GET", "k"]);
    redis.cli(&["GET", "missing"]);
    let _ = redis.try_cli(&["HGET", "k", "f"]);
    let app = Arc::new(TestApp::start());
    let traffic = Traffic::start(Arc::clone(&app));
    // A real remote-write receiver, so the exporter dashboard's remote-write row has data.
    let receiver = TempVictoriaMetrics::start();
    common::wait_until(Duration::from_secs(15), "the standby streams", || {
        primary.psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == "1"
    });
    let config = format!(
        "defaults: {{ interval: 1s, timeout: 900ms }}\n\
         postgres:\n\
         \x20 - {{ name: primary, url: \"{}\", collectors: {{ statements: {{ query_text: true }} }} }}\n\
         \x20 - {{ name: standby, url: \"{}\" }}\n\
         \x20 - {{ name: pooled, url: \"{}\" }}\n\
         pgbouncer:\n\
         \x20 - {{ name: bouncer, url: \"{}\" }}\n\
         redis:\n\
         \x20 - name: cache\n\
         \x20   url: \"{}\"\n\
         \x20   queues: [ {{ library: rq, name: default }}, {{ library: bullmq, name: {BULLMQ_QUEUE} }} ]\n\
         \x20 - {{ name: dead, url: \"redis://127.0.0.1:{}\" }}\n\
         apps:\n\
         \x20 - name: api\n\
         \x20   metrics_url: \"{}\"\n\
         \x20   signals:\n\
         \x20     queues: [ {{ gauge: api_jobs_waiting, queue_label: queue }} ]\n\
         \x20     gauges:\n\
         \x20       - {{ gauge: api_active_sessions, name: active_sessions }}\n\
         \x20       - {{ gauge: api_websocket_connections, name: websocket_connections }}\n\
         \x20   probes: [ {{ name: health, url: \"{}\", json_services: {{ pointer: /services }} }} ]\n\
         \x20 - name: worker\n\
         \x20   metrics_url: \"{}\"\n\
         \x20   signals:\n\
         \x20     latency: {{ histogram: worker_task_duration, unit: ms }}\n\
         \x20     requests: {{ counter: worker_http_calls, status_label: status_code, errors: '5..' }}\n\
         \x20     queues: [ {{ gauge: worker_queue_length, queue_label: queue }} ]\n\
         \x20     detect: false\n\
         remote_write:\n\
         \x20 - {{ name: vm, url: \"{}\", interval: 1s }}\n",
        primary.url(),
        standby.url(),
        // Queries through the pooler every second, for its traffic panels.
        bouncer.url(pgbouncer_users::APP, "postgres"),
        bouncer.url(pgbouncer_users::STATS, "pgbouncer"),
        redis.url(),
        free_port(),
        app.url("/api/metrics"),
        app.url("/health"),
        app.url("/worker/metrics"),
        receiver.remote_write_url(),
    );
    let exporter = ExporterProcess::start(&config, &[]);
    let prom = prometheus_with_rules(JOB, &[exporter.addr()]);
    let logs = || {
        format!(
            "\n\nexporter log:\n{}\nprometheus log:\n{}",
            exporter.logs(),
            prom.log()
        )
    };
    phase("stack up");

    // 1. Every panel query of every dashboard returns data.
    let mut last: BTreeMap<(String, String, String), (String, bool)> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for (_, d) in all() {
            let uid = d["uid"].as_str().unwrap_or("").to_string();
            for (pt, r, expr) in common::dashboards::queries(&d) {
                let q = expand(&expr, JOB, ".*");
                let data = query(&prom, &q)
                    .map(|a| has_data(&a))
                    .unwrap_or_else(|e| panic!("{uid} {pt:?} {r}: {e}\n  {q}"));
                last.insert((uid.clone(), pt, r), (q, data));
            }
        }
        if last.values().all(|(_, data)| *data) || Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(500));
    }
    let mut problems: Vec<String> = last
        .iter()
        .filter(|(_, (_, data))| !data)
        .map(|((uid, pt, r), (q, _))| format!("{uid} {pt:?} {r} returned no data\n  {q}"))
        .collect();
    // The series the selectors treat as source-less really are (process_* are
    // checked below: the api re-exposes its own).
    for metric in [
        "stack_exporter_build_info",
        "stack_exporter_config_last_reload_successful",
        "stack_exporter_remote_write_queue_samples",
        "scrape_duration_seconds",
        "up",
    ] {
        let a = query(&prom, &format!("{metric}{{job=\"{JOB}\"}}")).unwrap();
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
    // The exporter's own process, once: the api's re-exposed process_* are not in
    // the process panels.
    let exporter_dashboard = by_uid("stack-exporter");
    for p in panels(&exporter_dashboard) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().unwrap_or("");
            if !expr.contains("process_") {
                continue;
            }
            let a = query(&prom, &expand(expr, JOB, ".*")).unwrap();
            let series = vector_samples(&a);
            let instances: BTreeSet<&String> = series
                .iter()
                .filter_map(|(l, _)| l.get("instance"))
                .collect();
            if series.len() != 1 || instances.len() != 1 {
                problems.push(format!(
                    "{:?} {}: expected one series (the exporter's), got {series:?}",
                    p["title"], t["refId"]
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}{}", problems.join("\n"), logs());
    // Both apps' signals are there, detected and configured alike.
    for source in ["api", "worker"] {
        for metric in [
            "stack_request_duration_seconds_bucket",
            "stack_requests_total",
            "stack_request_errors_total",
            "stack_slow_requests_total",
            "stack_exporter_latency_threshold_resolved",
            "stack_queue_depth",
        ] {
            let q = format!("{metric}{{job=\"{JOB}\", source=\"{source}\"}}");
            assert!(
                !prom.query_vector(&q).is_empty(),
                "no {q} in Prometheus{}",
                logs()
            );
        }
    }
    phase("every panel returns data");

    // 2. Panels showing what an alert measures compute the same, per source, as the
    // alert's expression up to its comparison: both evaluated at the same instant.
    eventually(
        Duration::from_secs(30),
        "the alert panels to agree with their alerts",
        || {
            let at = unix_now() - 5.0;
            let mut problems = Vec::new();
            for (uid, pt, alert) in ALERT_PANELS {
                let (measure, _) = measure_and_threshold(&alert_expr(alert));
                let want = max_by_source(&query_at(&prom, &measure, Some(at))?);
                if want.is_empty() {
                    problems.push(format!("{alert}: `{measure}` has no data"));
                    continue;
                }
                let d = by_uid(uid);
                let panel = panels(&d)
                    .into_iter()
                    .find(|p| p["title"] == *pt)
                    .unwrap_or_else(|| panic!("{uid}: no panel {pt:?}"));
                let mut got = Vec::new();
                for t in panel["targets"].as_array().into_iter().flatten() {
                    let q = expand(t["expr"].as_str().unwrap_or(""), JOB, ".*");
                    let values = max_by_source(&query_at(&prom, &q, Some(at))?);
                    if same_values(&values, &want) {
                        got.clear();
                        break;
                    }
                    got.push(format!("{} {values:?}", t["refId"]));
                }
                if !got.is_empty() {
                    problems.push(format!(
                        "{uid} {pt:?} differs from {alert} (`{measure}` = {want:?}): {}",
                        got.join(", ")
                    ));
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("\n"))
            }
        },
    );
    phase("alert panels agree with their alerts");

    // 3. 1,500 jobs in a BullMQ queue make StackQueueBackup's expression true.
    let backup = alert_expr("StackQueueBackup");
    let ours = [
        ("source", "cache"),
        ("library", "bullmq"),
        ("queue", BULLMQ_QUEUE),
    ];
    prom.wait_for(
        &format!(
            "stack_queue_depth{{job=\"{JOB}\", source=\"cache\", library=\"bullmq\", \
             queue=\"{BULLMQ_QUEUE}\", state=\"waiting\"}} == 0"
        ),
        |a| !vector_samples(a).is_empty(),
        Duration::from_secs(30),
    );
    let before = prom.query_vector(&backup);
    assert!(
        before.is_empty(),
        "StackQueueBackup's expression holds before the push: {before:?}\n  {backup}"
    );
    push_bullmq_jobs(&redis, BULLMQ_QUEUE, JOBS_PUSHED);
    let answer = prom.wait_for(
        &backup,
        |a| {
            vector_samples(a)
                .iter()
                .any(|(l, _)| labels_match(l, &ours))
        },
        Duration::from_secs(30),
    );
    let samples = vector_samples(&answer);
    assert_eq!(samples.len(), 1, "only our queue backs up: {samples:?}");
    assert_eq!(samples[0].1, JOBS_PUSHED as f64, "{samples:?}");
    eventually(
        Duration::from_secs(30),
        "StackQueueBackup pending for our queue",
        || match alert_state(&prom, "StackQueueBackup", &ours).as_deref() {
            Some("pending") => Ok(()),
            other => Err(format!("state {other:?}")),
        },
    );
    phase("queue backup: expression true, alert pending");

    // 4. A burst of 5xx makes StackHighErrorRate's expression true.
    let error_rate = alert_expr("StackHighErrorRate");
    // Traffic is flowing (the ratio exists only with traffic) and under the threshold.
    prom.wait_for(
        &format!("job_source:stack_request_error_ratio:rate5m{{job=\"{JOB}\", source=\"api\"}}"),
        |a| !vector_samples(a).is_empty(),
        Duration::from_secs(30),
    );
    let before = prom.query_vector(&error_rate);
    assert!(
        before.is_empty(),
        "StackHighErrorRate's expression holds before the burst: {before:?}\n  {error_rate}"
    );
    traffic.burst_5xx(5000);
    let api = [("source", "api")];
    let answer = prom.wait_for(
        &error_rate,
        |a| vector_samples(a).iter().any(|(l, _)| labels_match(l, &api)),
        Duration::from_secs(30),
    );
    let samples = vector_samples(&answer);
    assert!(
        samples.iter().all(|(l, _)| labels_match(l, &api)),
        "only the api has errors: {samples:?}"
    );
    eventually(
        Duration::from_secs(30),
        "StackHighErrorRate pending for the api",
        || match alert_state(&prom, "StackHighErrorRate", &api).as_deref() {
            Some("pending") => Ok(()),
            other => Err(format!("state {other:?}")),
        },
    );
    phase("5xx burst: expression true, alert pending");

    // 5. Every group of every rule file is loaded and has been evaluated (long since:
    // the alerts above were pending), and now that the series of every kind of source
    // are there, every rule evaluates without error.
    eventually(
        Duration::from_secs(30),
        "every rule group loaded and evaluated",
        || match rule_problems(&prom).0 {
            p if p.is_empty() => Ok(()),
            p => Err(p.join("\n")),
        },
    );
    let unhealthy = rule_problems(&prom).1;
    assert!(unhealthy.is_empty(), "{}{}", unhealthy.join("\n"), logs());
    phase("every rule loaded, evaluated and healthy");

    drop(traffic);
}

/// Adds `n` jobs to a BullMQ queue as BullMQ 5's `addStandardJob` script lays them out
/// (prefix `bull`): the next id from `<q>:id`, the job hash `<q>:<id>`, the id pushed
/// on the `<q>:wait` list, an `added` event on the `<q>:events` stream; one script, as
/// BullMQ does it.
fn push_bullmq_jobs(redis: &TempRedis, queue: &str, n: usize) {
    const SCRIPT: &str = r#"
local now = ARGV[2]
for i = 1, tonumber(ARGV[1]) do
  local id = redis.call('INCR', KEYS[1])
  redis.call('HSET', KEYS[2] .. id, 'name', 'send', 'data', '{"to":"user' .. id .. '@example.com"}',
    'opts', '{"attempts":3}', 'timestamp', now, 'delay', '0', 'priority', '0')
  redis.call('LPUSH', KEYS[3], id)
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', '10000', '*', 'event', 'added', 'jobId', id, 'name', 'send')
end
return redis.call('LLEN', KEYS[3])
"#;
    let q = format!("bull:{queue}");
    let now_ms = (unix_now() * 1000.0) as u64;
    let waiting = redis.cli(&[
        "EVAL",
        SCRIPT,
        "4",
        &format!("{q}:id"),
        &format!("{q}:"),
        &format!("{q}:wait"),
        &format!("{q}:events"),
        &n.to_string(),
        &now_ms.to_string(),
    ]);
    assert_eq!(waiting, n.to_string(), "LLEN {q}:wait after the push");
}
