//! Remote write against real receivers (Prometheus 2.42 with its remote-write receiver,
//! VictoriaMetrics) and against a small receiver of our own that answers what a test
//! tells it to (down, 500, 429 with Retry-After, 400, 401) and records every request,
//! decoded with the crate's own protobuf structs.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::test_app::TestApp;
use common::{
    free_port, samples, value, wait_until, ExporterProcess, Samples, TempPrometheus,
    TempVictoriaMetrics,
};
use prost::Message;
use stack_exporter::remote_write::proto::{WriteRequest, STALE_NAN_BITS};

// ---------------------------------------------------------------------------------------
// A scriptable receiver
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

impl Answer {
    fn ok() -> Answer {
        Answer::status(204, "")
    }

    fn status(status: u16, body: &str) -> Answer {
        Answer {
            status,
            retry_after: None,
            body: body.to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
struct Received {
    at: Instant,
    /// Lowercase names.
    headers: HashMap<String, String>,
    /// The snappy-compressed body as sent.
    raw: Vec<u8>,
    request: WriteRequest,
    answered: u16,
}

impl Received {
    /// (labels with `__name__`, value bits, timestamp) of every sample.
    fn samples(&self) -> Vec<(BTreeMap<String, String>, u64, i64)> {
        let mut out = Vec::new();
        for ts in &self.request.timeseries {
            let labels: BTreeMap<String, String> = ts
                .labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            for s in &ts.samples {
                out.push((labels.clone(), s.value.to_bits(), s.timestamp));
            }
        }
        out
    }
}

#[derive(Default)]
struct ReceiverState {
    /// Answers to give, in order; the last one repeats.
    script: Vec<Answer>,
    received: Vec<Received>,
    /// The `Authorization` value to require (401 otherwise).
    require_auth: Option<String>,
}

/// An HTTP remote-write receiver on a fixed port that can be taken down (nothing
/// listening: connections are refused) and brought back.
struct Receiver {
    addr: SocketAddr,
    state: Arc<Mutex<ReceiverState>>,
    down: Arc<AtomicBool>,
    quit: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    fn start() -> Receiver {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let state = Arc::new(Mutex::new(ReceiverState {
            script: vec![Answer::ok()],
            ..Default::default()
        }));
        let down = Arc::new(AtomicBool::new(false));
        let quit = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, down, quit) = (state.clone(), down.clone(), quit.clone());
            thread::spawn(move || serve(addr, state, down, quit))
        };
        let r = Receiver {
            addr,
            state,
            down,
            quit,
            thread: Some(thread),
        };
        wait_until(Duration::from_secs(10), "receiver listening", || {
            TcpStream::connect(addr).is_ok()
        });
        r
    }

    fn url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    fn answer(&self, script: Vec<Answer>) {
        self.state.lock().unwrap().script = script;
    }

    fn require_auth(&self, value: &str) {
        self.state.lock().unwrap().require_auth = Some(value.to_owned());
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        if down {
            wait_until(Duration::from_secs(10), "receiver down", || {
                TcpStream::connect(self.addr).is_err()
            });
        } else {
            wait_until(Duration::from_secs(10), "receiver up", || {
                TcpStream::connect(self.addr).is_ok()
            });
        }
    }

    fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Samples of requests answered 2xx.
    fn accepted_samples(&self) -> Vec<(BTreeMap<String, String>, u64, i64)> {
        self.received()
            .iter()
            .filter(|r| (200..300).contains(&r.answered))
            .flat_map(|r| r.samples())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.quit.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    addr: SocketAddr,
    state: Arc<Mutex<ReceiverState>>,
    down: Arc<AtomicBool>,
    quit: Arc<AtomicBool>,
) {
    let mut listener: Option<TcpListener> = None;
    while !quit.load(Ordering::SeqCst) {
        if down.load(Ordering::SeqCst) {
            listener = None;
            thread::sleep(Duration::from_millis(10));
            continue;
        }
        let Some(l) = &listener else {
            // std sets SO_REUSEADDR, so the port can be taken again at once.
            if let Ok(l) = TcpListener::bind(addr) {
                l.set_nonblocking(true).unwrap();
                listener = Some(l);
            } else {
                thread::sleep(Duration::from_millis(10));
            }
            continue;
        };
        match l.accept() {
            Ok((stream, _)) => handle(stream, &state),
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn handle(stream: TcpStream, state: &Mutex<ReceiverState>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut raw = vec![0; len];
    if reader.read_exact(&mut raw).is_err() {
        return;
    }
    let request = snap::raw::Decoder::new()
        .decompress_vec(&raw)
        .ok()
        .and_then(|b| WriteRequest::decode(b.as_slice()).ok())
        .unwrap_or_default();
    let mut st = state.lock().unwrap();
    let answer = match &st.require_auth {
        Some(want) if headers.get("authorization") != Some(want) => {
            // Echoes what it got, as careless servers do: the exporter must scrub it.
            let got = headers.get("authorization").cloned().unwrap_or_default();
            Answer::status(401, &format!("bad credentials: {got}"))
        }
        _ => {
            let n = st.received.len().min(st.script.len() - 1);
            st.script[n].clone()
        }
    };
    st.received.push(Received {
        at: Instant::now(),
        headers,
        raw,
        request,
        answered: answer.status,
    });
    drop(st);
    let mut out = stream;
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    if let Some(ra) = &answer.retry_after {
        head.push_str(&format!("Retry-After: {ra}\r\n"));
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(answer.body.as_bytes());
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn exporter_samples(exporter: &ExporterProcess) -> Samples {
    samples(&common::metrics(exporter))
}

/// A `stack_exporter_remote_write_*` value of the only endpoint.
fn rw(exporter: &ExporterProcess, name: &str, extra: &[(&str, &str)]) -> f64 {
    value(
        &exporter_samples(exporter),
        &format!("stack_exporter_remote_write_{name}"),
        extra,
    )
    .unwrap_or(f64::NAN)
}

/// A series' labels without the ones a scrape or an endpoint adds, and without empty
/// values (absent in Prometheus).
/// The status page's remote-write table (the sources' table comes before it).
fn remote_write_section(page: &str) -> &str {
    match page.split_once("<h2>Remote write</h2>") {
        Some((_, section)) => section,
        None => panic!("no remote-write section on the status page:\n{page}"),
    }
}

fn own_labels(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, v)| *k != "job" && *k != "instance" && !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Equal up to VictoriaMetrics' storage precision (it keeps values as a decimal
/// mantissa of about 15 digits, documented as such).
fn close(a: f64, b: f64) -> bool {
    same_value(a, b) || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

fn same_value(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

// ---------------------------------------------------------------------------------------
// Real receivers
// ---------------------------------------------------------------------------------------

/// One Prometheus scrapes the exporter (job `scrape`) and receives its remote write
/// (job `rw`): every series of the app source must be stored the same both ways.
#[test]
fn prometheus_stores_what_metrics_serves() {
    let app = TestApp::start();
    let exporter_port = free_port();
    let prom = TempPrometheus::start("scrape", &[&format!("127.0.0.1:{exporter_port}")]);
    let config = format!(
        r#"
apps:
  - name: app
    metrics_url: {}
    interval: 1s
    timeout: 1s
redis:
  - name: cache
    url: redis://127.0.0.1:6379
    interval: 1s
    timeout: 1s
remote_write:
  - url: {}
    external_labels: {{ job: rw, instance: pushed }}
"#,
        app.url("/metrics"),
        prom.remote_write_url()
    );
    let exporter = ExporterProcess::builder()
        .config(&config)
        .args(&[
            "--web.listen-address",
            &format!("127.0.0.1:{exporter_port}"),
        ])
        .start();

    // Prometheus 2.42 scrapes OpenMetrics and stores `_created` samples as series of
    // their own; remote write sends what a classic scrape stores, without them.
    let by_job = |job: &str| -> BTreeMap<BTreeMap<String, String>, f64> {
        prom.query_vector(&format!(
            r#"{{source="app",job="{job}",__name__!~".+_created"}}"#
        ))
        .into_iter()
        .map(|(l, v)| (own_labels(&l), v))
        .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let scraped = loop {
        let (scraped, pushed) = (by_job("scrape"), by_job("rw"));
        let same = !scraped.is_empty()
            && scraped.len() == pushed.len()
            && scraped
                .iter()
                .all(|(l, v)| pushed.get(l).is_some_and(|p| same_value(*p, *v)));
        if same {
            break scraped;
        }
        if Instant::now() > deadline {
            let differ: Vec<_> = scraped
                .iter()
                .filter(|(l, v)| !pushed.get(*l).is_some_and(|p| same_value(*p, **v)))
                .collect();
            let extra: Vec<_> = pushed
                .keys()
                .filter(|l| !scraped.contains_key(*l))
                .collect();
            panic!(
                "scraped and pushed series differ\nscraped, not pushed alike: {differ:#?}\npushed, not scraped: {extra:#?}\n{}",
                exporter.logs()
            );
        }
        thread::sleep(Duration::from_millis(300));
    };
    // The rich body's every kind made it: histogram buckets, summary quantiles,
    // counters as _total, NaN and infinities; no _created.
    for name in [
        "app_request_duration_seconds_bucket",
        "app_http_requests_total",
        "app_values",
    ] {
        assert!(
            scraped.keys().any(|l| l["__name__"] == name),
            "{name} missing: {scraped:#?}"
        );
    }
    assert!(!scraped.keys().any(|l| l["__name__"].ends_with("_created")));
    // The Redis source and the self-metrics arrive with the external labels.
    prom.wait_for(
        r#"redis_up{source="cache",job="rw",instance="pushed"}"#,
        |v| common::vector_samples(v).len() == 1,
        Duration::from_secs(30),
    );
    prom.wait_for(
        r#"stack_exporter_build_info{job="rw",instance="pushed"}"#,
        |v| common::vector_samples(v).len() == 1,
        Duration::from_secs(30),
    );
    // The same metric names for Redis either way (values move between polls).
    let names = |job: &str| -> std::collections::BTreeSet<String> {
        prom.query_vector(&format!(
            r#"count by (__name__) ({{source="cache",job="{job}"}})"#
        ))
        .into_iter()
        .map(|(l, _)| l["__name__"].clone())
        .collect()
    };
    wait_until(Duration::from_secs(30), "the same Redis names", || {
        names("scrape") == names("rw")
    });
    assert_eq!(rw(&exporter, "samples_failed_total", &[]), 0.0);
    assert!(!prom.log().contains("out of order"), "{}", prom.log());
}

/// VictoriaMetrics stores the app's series as the exporter serves them, with the
/// poll's (or the sample's own) timestamp.
#[test]
fn victoria_metrics_stores_what_metrics_serves() {
    let app = TestApp::start();
    let vm = TempVictoriaMetrics::start();
    let config = format!(
        r#"
apps:
  - name: app
    metrics_url: {}
    interval: 1s
    timeout: 1s
remote_write:
  - name: vm
    url: {}
    self_metrics: false
    external_labels: {{ job: "", instance: "" }}
"#,
        app.url("/metrics"),
        vm.remote_write_url()
    );
    let exporter = ExporterProcess::start(&config, &[]);
    let served: BTreeMap<BTreeMap<String, String>, f64> = {
        wait_until(Duration::from_secs(20), "app polled", || {
            value(
                &exporter_samples(&exporter),
                "stack_exporter_source_up",
                &[("source", "app")],
            ) == Some(1.0)
        });
        exporter_samples(&exporter)
            .into_iter()
            .filter(|(n, l, _)| {
                l.get("source").map(String::as_str) == Some("app")
                    && !n.starts_with("stack_exporter_")
            })
            .map(|(n, mut l, v)| {
                l.insert("__name__".into(), n);
                (own_labels(&l), v)
            })
            .collect()
    };
    let stored = || -> BTreeMap<BTreeMap<String, String>, f64> {
        vm.export(r#"{source="app"}"#)
            .into_iter()
            .filter_map(|s| Some((s.labels, *s.values.last()?)))
            .collect()
    };
    // VictoriaMetrics drops plain NaN samples at ingestion (documented); every other
    // series must be there with the served value, and nothing else.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stored = stored();
        let missing: Vec<_> = served
            .iter()
            .filter(|(l, v)| !v.is_nan() && !stored.get(*l).is_some_and(|s| close(*s, **v)))
            .collect();
        let extra: Vec<_> = stored.keys().filter(|l| !served.contains_key(*l)).collect();
        if missing.is_empty() && extra.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "missing or different: {missing:#?}\nnot served: {extra:#?}\nstored: {stored:#?}"
        );
        thread::sleep(Duration::from_millis(300));
    }
    // No job/instance: configured empty, so left out.
    assert!(vm
        .export(r#"{source="app"}"#)
        .iter()
        .all(|s| !s.labels.contains_key("job") && !s.labels.contains_key("instance")));
    // A sample with its own timestamp keeps it (the rich body's are on a .250).
    let own = vm.export(r#"{__name__="app_timestamped_value"}"#);
    if let Some(s) = own.first() {
        assert!(
            s.timestamps.iter().all(|t| t.rem_euclid(1000) == 250),
            "{s:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Failure handling, against the scriptable receiver
// ---------------------------------------------------------------------------------------

fn many_config(app: &TestApp, receiver: &Receiver, extra: &str) -> String {
    format!(
        r#"
apps:
  - name: app
    metrics_url: {}
    interval: 1s
    timeout: 1s
remote_write:
  - name: test
    url: {}
    timeout: 2s
    min_backoff: 50ms
    max_backoff: 200ms
    external_labels: {{ instance: test }}
{extra}
"#,
        app.url("/many?series=200"),
        receiver.url()
    )
}

#[test]
fn a_receiver_down_for_a_while_gets_the_backlog_up_to_the_queue_capacity() {
    let app = TestApp::start();
    let receiver = Receiver::start();
    let config = many_config(
        &app,
        &receiver,
        "    self_metrics: false\n    queue_capacity: 1000\n    max_samples_per_request: 100\n",
    );
    let exporter = ExporterProcess::start(&config, &[]);
    wait_until(Duration::from_secs(20), "first samples sent", || {
        rw(&exporter, "samples_sent_total", &[]) >= 200.0
    });

    receiver.set_down(true);
    let down_at_ms = stack_exporter::remote_write::unix_ms(std::time::SystemTime::now());
    // 200 samples a second into a queue of 1000: full after ~5 polls, then dropping.
    wait_until(
        Duration::from_secs(30),
        "the queue drops the oldest",
        || {
            rw(
                &exporter,
                "samples_dropped_total",
                &[("reason", "queue_full")],
            ) > 0.0
        },
    );
    let rss_full = common::faults::rss_kb(exporter.pid());
    let dropped_then = rw(
        &exporter,
        "samples_dropped_total",
        &[("reason", "queue_full")],
    );
    wait_until(Duration::from_secs(60), "2000 more samples dropped", || {
        rw(
            &exporter,
            "samples_dropped_total",
            &[("reason", "queue_full")],
        ) >= dropped_then + 2000.0
    });
    let queued = rw(&exporter, "queue_samples", &[]);
    assert!(queued <= 1000.0, "queue over capacity: {queued}");
    assert_eq!(rw(&exporter, "queue_capacity_samples", &[]), 1000.0);
    let rss_later = common::faults::rss_kb(exporter.pid());
    assert!(
        rss_later < rss_full + 4096,
        "RSS grew from {rss_full} kB to {rss_later} kB while the queue was full"
    );
    assert!(rw(&exporter, "samples_retried_total", &[]) > 0.0);
    let logs = exporter.logs();
    assert_eq!(
        logs.matches("remote write queue full").count(),
        1,
        "logged once per outage: {logs}"
    );

    let sent_before = rw(&exporter, "samples_sent_total", &[]);
    receiver.set_down(false);
    wait_until(Duration::from_secs(30), "backlog delivered", || {
        rw(&exporter, "samples_sent_total", &[]) >= sent_before + 1000.0
    });
    assert!(exporter.logs().contains("accepts data again"));
    // The backlog holds samples from the outage, oldest first within each series.
    let accepted = receiver.accepted_samples();
    assert!(accepted.iter().any(|(_, _, ts)| *ts > down_at_ms));
    let mut last_ts: HashMap<BTreeMap<String, String>, i64> = HashMap::new();
    for (labels, _, ts) in &accepted {
        let prev = last_ts.insert(labels.clone(), *ts);
        assert!(prev.is_none_or(|p| p <= *ts), "out of order for {labels:?}");
    }
    // Every sample counted as sent reached the receiver.
    wait_until(Duration::from_secs(10), "counts agree", || {
        rw(&exporter, "samples_sent_total", &[]) as usize == receiver.accepted_samples().len()
    });
}

#[test]
fn a_500_is_retried_with_the_same_data_and_a_400_drops_it() {
    let app = TestApp::start();
    let receiver = Receiver::start();
    receiver.answer(vec![
        Answer::status(500, "try later"),
        Answer::status(500, "try later"),
        Answer::ok(),
    ]);
    let exporter = ExporterProcess::start(
        &many_config(&app, &receiver, "    self_metrics: false\n"),
        &[],
    );
    wait_until(Duration::from_secs(20), "delivered after two 500s", || {
        rw(&exporter, "samples_sent_total", &[]) > 0.0
    });
    let r = receiver.received();
    assert_eq!(r[0].raw, r[1].raw, "a retry resends the same body");
    assert_eq!(r[1].raw, r[2].raw);
    assert_eq!(rw(&exporter, "samples_retried_total", &[]), 400.0);
    assert_eq!(
        rw(&exporter, "requests_total", &[("outcome", "retry")]),
        2.0
    );
    assert_eq!(rw(&exporter, "samples_failed_total", &[]), 0.0);
    assert!(exporter.logs().contains("HTTP 500: try later"));

    // 400: dropped and counted, never retried; later data still goes out.
    let seen = receiver.received().len();
    receiver.answer(
        std::iter::repeat_n(Answer::ok(), seen)
            .chain([Answer::status(400, "out of bounds"), Answer::ok()])
            .collect(),
    );
    // One or more polls of 200 samples, as many as were queued when it went out.
    wait_until(Duration::from_secs(20), "a rejected batch", || {
        rw(&exporter, "samples_failed_total", &[]) > 0.0
    });
    assert_eq!(rw(&exporter, "samples_failed_total", &[]) % 200.0, 0.0);
    wait_until(Duration::from_secs(20), "later data accepted", || {
        receiver.received().len() > seen + 1 && receiver.received()[seen + 1].answered == 204
    });
    let r = receiver.received();
    assert_ne!(
        r[seen].raw,
        r[seen + 1].raw,
        "the rejected body is not sent again"
    );
    assert!(exporter
        .logs()
        .contains("rejected a request; its samples are dropped"));
    assert_eq!(
        rw(
            &exporter,
            "samples_dropped_total",
            &[("reason", "queue_full")]
        ),
        0.0
    );
}

#[test]
fn a_429_waits_for_retry_after() {
    let app = TestApp::start();
    let receiver = Receiver::start();
    let mut slow_down = Answer::status(429, "slow down");
    slow_down.retry_after = Some("2".into());
    receiver.answer(vec![slow_down, Answer::ok()]);
    let exporter = ExporterProcess::start(
        &many_config(&app, &receiver, "    self_metrics: false\n"),
        &[],
    );
    wait_until(Duration::from_secs(20), "delivered after the 429", || {
        receiver.received().len() >= 2
    });
    let r = receiver.received();
    let waited = r[1].at - r[0].at;
    // max_backoff is 200ms: only Retry-After explains a wait this long.
    assert!(
        waited >= Duration::from_millis(1900),
        "retried after {waited:?}"
    );
    assert_eq!(r[0].raw, r[1].raw);
    assert!(rw(&exporter, "samples_retried_total", &[]) >= 200.0);
}

#[test]
fn the_protocol_headers_and_auth_reach_the_receiver_and_secrets_stay_out_of_logs() {
    let app = TestApp::start();
    let receiver = Receiver::start();
    receiver.require_auth("Bearer t0ken-s3cret-value");
    // First with a wrong token: the receiver answers 401 echoing it.
    let exporter = {
        let builder = ExporterProcess::builder()
            .config(&many_config(
                &app,
                &receiver,
                "    bearer_token: ${RW_TOKEN}\n    headers: { X-Scope-OrgID: tenant-7 }\n",
            ))
            .arg("--log.level=debug");
        builder.env("RW_TOKEN", "wrong-t0ken-value").start()
    };
    wait_until(Duration::from_secs(20), "a rejected request", || {
        rw(&exporter, "samples_failed_total", &[]) > 0.0
    });
    let logs = exporter.logs();
    assert!(logs.contains("HTTP 401"), "{logs}");
    assert!(
        !logs.contains("wrong-t0ken-value"),
        "token in the log: {logs}"
    );
    // The status page names the endpoint and why it fails, without the echoed token.
    let page = exporter.get("/").text();
    let section = remote_write_section(&page);
    assert!(
        section.contains("class=\"down\">down")
            && section.contains("rejected, samples dropped: HTTP 401"),
        "{page}"
    );
    assert!(!page.contains("wrong-t0ken"), "{page}");
    assert!(!common::metrics(&exporter).contains("wrong-t0ken"));
    drop(exporter);

    // Bearer from a file.
    let dir = common::tempdir("rw-token-");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "t0ken-s3cret-value\n").unwrap();
    let exporter = ExporterProcess::builder()
        .config(&many_config(
            &app,
            &receiver,
            &format!(
                "    bearer_token_file: {}\n    headers: {{ X-Scope-OrgID: tenant-7 }}\n",
                token_file.display()
            ),
        ))
        .arg("--log.level=debug")
        .start();
    wait_until(
        Duration::from_secs(20),
        "accepted with the bearer token",
        || rw(&exporter, "samples_sent_total", &[]) > 0.0,
    );
    let ok = receiver
        .received()
        .into_iter()
        .find(|r| r.answered == 204)
        .unwrap();
    let h = |k: &str| ok.headers.get(k).map(String::as_str);
    assert_eq!(h("content-encoding"), Some("snappy"));
    assert_eq!(h("content-type"), Some("application/x-protobuf"));
    assert_eq!(h("x-prometheus-remote-write-version"), Some("0.1.0"));
    assert!(h("user-agent").is_some_and(|u| u.starts_with("stack_exporter/")));
    assert_eq!(h("x-scope-orgid"), Some("tenant-7"));
    // Labels sorted by name, `__name__` among them; the external label merged in.
    for ts in &ok.request.timeseries {
        let names: Vec<&str> = ts.labels.iter().map(|l| l.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert!(names.contains(&"__name__") && names.contains(&"instance"));
    }
    assert!(!exporter.logs().contains("t0ken-s3cret"));
    let page = exporter.get("/").text();
    assert!(
        remote_write_section(&page).contains("class=\"up\">up"),
        "{page}"
    );
    drop(exporter);

    // Basic auth, password from the environment; --check-config redacts it.
    receiver.require_auth("Basic dXNlcjpwQHNzLXczcmQtc2VjcmV0"); // user:p@ss-w3rd-secret
    let basic = many_config(
        &app,
        &receiver,
        "    basic_auth: { username: user, password: \"${RW_PASSWORD}\" }\n",
    );
    let exporter = ExporterProcess::builder()
        .config(&basic)
        .env("RW_PASSWORD", "p@ss-w3rd-secret")
        .arg("--log.level=debug")
        .start();
    let sent_before = receiver.accepted_samples().len();
    wait_until(Duration::from_secs(20), "accepted with basic auth", || {
        receiver.accepted_samples().len() > sent_before
    });
    assert!(!exporter.logs().contains("p@ss-w3rd"));
    let mut check = ExporterProcess::builder()
        .config(&basic)
        .env("RW_PASSWORD", "p@ss-w3rd-secret")
        .arg("--check-config")
        .no_listen_address()
        .spawn();
    check.wait_exit(Duration::from_secs(10));
    let out = check.stdout();
    assert!(
        out.contains("remote_write:") && out.contains("<redacted>"),
        "{out}"
    );
    assert!(!out.contains("p@ss-w3rd"), "{out}");
}

#[test]
fn a_source_that_fails_gets_staleness_markers_for_its_vanished_series() {
    let app = TestApp::start();
    let receiver = Receiver::start();
    let exporter = ExporterProcess::start(
        &many_config(&app, &receiver, "    self_metrics: false\n"),
        &[],
    );
    wait_until(Duration::from_secs(20), "first push", || {
        rw(&exporter, "samples_sent_total", &[]) >= 200.0
    });
    // The app now fails: its series vanish, `app_health`-style health stays.
    app.set_route("/many", 500, "text/plain", b"down");
    wait_until(Duration::from_secs(20), "staleness markers", || {
        receiver
            .accepted_samples()
            .iter()
            .filter(|(l, bits, _)| l["__name__"] == "app_many_series" && *bits == STALE_NAN_BITS)
            .count()
            == 200
    });
}

#[test]
fn shutdown_flushes_within_its_deadline() {
    let app = TestApp::start();
    let receiver = Receiver::start();
    receiver.answer(vec![Answer::status(503, "unavailable")]);
    let mut exporter = ExporterProcess::start(
        &many_config(&app, &receiver, "    self_metrics: false\n"),
        &[],
    );
    wait_until(Duration::from_secs(20), "retrying", || {
        rw(&exporter, "samples_retried_total", &[]) > 0.0
    });
    exporter.signal(libc::SIGTERM);
    // timeout 2s: the flush gives up after it; the whole shutdown well within 10s.
    let status = exporter.wait_exit(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "{}", exporter.logs());
    assert!(
        exporter
            .logs()
            .contains("queue not empty at the flush deadline"),
        "{}",
        exporter.logs()
    );

    // A receiver that answers: everything queued goes out before exit.
    let receiver = Receiver::start();
    let mut exporter = ExporterProcess::start(
        &many_config(&app, &receiver, "    self_metrics: false\n"),
        &[],
    );
    wait_until(Duration::from_secs(20), "pushing", || {
        !receiver.received().is_empty()
    });
    exporter.signal(libc::SIGTERM);
    assert!(exporter.wait_exit(Duration::from_secs(10)).is_some());
    assert!(!exporter.logs().contains("flush deadline"));
}

#[test]
fn a_reload_reconfigures_endpoints() {
    let app = TestApp::start();
    let receiver = Receiver::start();
    let exporter = ExporterProcess::start(&many_config(&app, &receiver, ""), &[]);
    wait_until(Duration::from_secs(20), "pushing", || {
        receiver
            .accepted_samples()
            .iter()
            .any(|(l, _, _)| l.get("instance").map(String::as_str) == Some("test"))
    });
    let changed = many_config(&app, &receiver, "").replace("instance: test", "instance: reloaded");
    std::fs::write(exporter.config_path().unwrap(), changed).unwrap();
    exporter.signal(libc::SIGHUP);
    wait_until(
        Duration::from_secs(20),
        "pushing with the new label",
        || {
            receiver
                .accepted_samples()
                .iter()
                .any(|(l, _, _)| l.get("instance").map(String::as_str) == Some("reloaded"))
        },
    );
    // Removing the endpoint stops the pushes and its self-metrics.
    let without: String = many_config(&app, &receiver, "")
        .split("remote_write:")
        .next()
        .unwrap()
        .to_owned();
    std::fs::write(exporter.config_path().unwrap(), without).unwrap();
    exporter.signal(libc::SIGHUP);
    wait_until(
        Duration::from_secs(20),
        "no remote-write self-metrics",
        || !common::metrics(&exporter).contains("stack_exporter_remote_write_"),
    );
    let count = receiver.received().len();
    thread::sleep(Duration::from_millis(2500));
    // At most the flush of the removed endpoint (a request in flight and the last round).
    assert!(receiver.received().len() <= count + 3, "still pushing");
}

#[test]
fn bad_remote_write_config_is_reported_with_its_location() {
    let env = stack_exporter::config::Env::empty();
    let errors = |yaml: &str| -> String {
        stack_exporter::config::load_str(yaml, None, &env)
            .expect_err("must fail")
            .to_string()
    };
    let e = errors("remote_write:\n  - url: http://h/api/v1/write\n    queue: 5\n");
    assert!(e.contains("remote_write[0]") && e.contains("queue"), "{e}");
    let e = errors("remote_write:\n  - url: ftp://h/x\n");
    assert!(
        e.contains("remote_write[0].url") && e.contains("unsupported scheme"),
        "{e}"
    );
    let e = errors("remote_write:\n  - url: https://u:hunter22@h/x\n");
    assert!(e.contains("basic_auth") && !e.contains("hunter22"), "{e}");
    let e = errors(
        "remote_write:\n  - url: http://h/x\n    max_samples_per_request: 500\n    queue_capacity: 100\n",
    );
    assert!(e.contains("remote_write[0].queue_capacity"), "{e}");
    let e = errors("remote_write:\n  - url: http://h/x\n    headers: { Content-Type: x }\n");
    assert!(e.contains("remote_write[0].headers.Content-Type"), "{e}");
    let e = errors("remote_write:\n  - url: http://h/x\n  - url: http://h/y\n");
    assert!(
        e.contains("remote_write[1].url") && e.contains("distinct `name`"),
        "{e}"
    );
    let e =
        errors("remote_write:\n  - url: http://h/x\n    external_labels: { source: x, 0bad: y }\n");
    assert!(
        e.contains("external_labels.source") && e.contains("external_labels.0bad"),
        "{e}"
    );
    let e = errors("remote_write:\n  - url: http://h/x\n    interval: 100ms\n");
    assert!(e.contains("remote_write[0].interval"), "{e}");
    let e =
        errors("remote_write:\n  - url: http://h/x\n    min_backoff: 10s\n    max_backoff: 1s\n");
    assert!(e.contains("remote_write[0].max_backoff"), "{e}");
    // Defaults: job, and instance from the host name.
    let c = stack_exporter::config::load_str("remote_write:\n  - url: http://h:9/x\n", None, &env)
        .unwrap();
    let r = &c.remote_write[0];
    assert_eq!(r.name, "h:9");
    assert_eq!(
        r.external_labels.get("job").map(String::as_str),
        Some("stack_exporter")
    );
    assert!(r.external_labels.contains_key("instance"));
    assert_eq!(r.interval, None);
}
