//! The HTTP test app of `tests/common/test_app.rs` itself: routes, negotiation, gzip,
//! TLS, shutdown, and that its rich bodies are valid, complete and say the same thing
//! in both formats.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::test_app::{
    churn_series, go_float, many_series, py_float, rich_classic, rich_openmetrics,
    rich_timestamp_ms, FormatMode, TestApp, CLASSIC_CONTENT_TYPE, DEFAULT_HEALTH,
    GZIP_BOMB_INFLATED, OPENMETRICS_CONTENT_TYPE,
};
use common::{http_get, http_request, promtool_findings, Pki, ScrapeJob, TempPrometheus};
use flate2::read::GzDecoder;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use stack_exporter::exposition::parse::{
    format_from_content_type, parse, parse_detailed, ParseLimits, Parsed,
};
use stack_exporter::exposition::Format;
use stack_exporter::model::MetricType;

const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,\
    application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

fn parsed(body: &[u8], format: Format) -> Parsed {
    parse_detailed(body, format, &ParseLimits::unlimited()).unwrap_or_else(|e| {
        panic!(
            "{format:?} body does not parse: {e}\n{}",
            String::from_utf8_lossy(body)
        )
    })
}

/// A raw request on a fresh connection; the caller reads what it wants.
fn raw_request(app: &TestApp, path: &str) -> TcpStream {
    let mut s = TcpStream::connect(app.addr()).expect("connect to the test app");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        app.addr()
    )
    .unwrap();
    s
}

#[test]
fn metrics_negotiates_the_format() {
    let app = TestApp::start();
    let classic = http_get(&app.url("/metrics"), &[]);
    assert_eq!(classic.status, 200);
    assert_eq!(classic.header("content-type"), Some(CLASSIC_CONTENT_TYPE));
    assert!(classic
        .text()
        .starts_with("# HELP app_http_requests_total "));

    let om = http_get(&app.url("/metrics"), &[("Accept", PROMETHEUS_ACCEPT)]);
    assert_eq!(om.header("content-type"), Some(OPENMETRICS_CONTENT_TYPE));
    assert!(om.text().ends_with("# EOF\n"));

    app.set_format_mode(FormatMode::ClassicOnly);
    let r = http_get(&app.url("/metrics"), &[("Accept", PROMETHEUS_ACCEPT)]);
    assert_eq!(r.header("content-type"), Some(CLASSIC_CONTENT_TYPE));
    app.set_format_mode(FormatMode::OpenMetricsOnly);
    let r = http_get(&app.url("/metrics"), &[("Accept", "text/plain")]);
    assert_eq!(r.header("content-type"), Some(OPENMETRICS_CONTENT_TYPE));

    let seen = app.requests_to("/metrics");
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].header("accept"), None);
    assert_eq!(seen[1].header("Accept"), Some(PROMETHEUS_ACCEPT));
    assert!(seen[1].header("host").is_some());
}

#[test]
fn metrics_gzip_round_trips_and_counter_is_settable() {
    let app = TestApp::start();
    app.set_counter(4242.0);
    for (accept, format) in [
        ("text/plain", Format::Classic),
        (PROMETHEUS_ACCEPT, Format::OpenMetrics),
    ] {
        let r = http_get(
            &app.url("/metrics"),
            &[("Accept", accept), ("Accept-Encoding", "gzip")],
        );
        assert_eq!(r.header("content-encoding"), Some("gzip"));
        let body = gunzip(&r.body);
        assert!(body.len() > 2 * r.body.len(), "gzip shrinks the body");
        let format_seen = format_from_content_type(r.header("content-type").unwrap());
        assert_eq!(format_seen, format);
        let families = parsed(&body, format).families;
        let requests = families
            .iter()
            .flat_map(|f| &f.samples)
            .find(|s| {
                s.name == "app_http_requests_total"
                    && s.labels.contains(&("code".into(), "200".into()))
            })
            .expect("app_http_requests_total{code=\"200\"}");
        assert_eq!(requests.value, 4242.0);
    }
    // gzip refused by q=0 means identity.
    let r = http_get(&app.url("/metrics"), &[("Accept-Encoding", "gzip;q=0")]);
    assert_eq!(r.header("content-encoding"), None);
    assert!(r.text().starts_with("# HELP"));
    assert_eq!(
        app.requests()[0].header("accept-encoding"),
        Some("gzip"),
        "request headers are recorded"
    );
}

#[test]
fn redirects() {
    let app = TestApp::start();
    let r = http_get(&app.url("/redirect-loop"), &[]);
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/redirect-loop2"));
    let r = http_get(&app.url("/redirect-loop2"), &[]);
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/redirect-loop"));
    let r = http_get(&app.url("/redirect?to=%2Fmetrics%3Fx%3D1"), &[]);
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/metrics?x=1"));
}

#[test]
fn plain_routes() {
    let app = TestApp::start();
    let r = http_get(&app.url("/health"), &[]);
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("application/json"))
    );
    assert_eq!(r.text(), DEFAULT_HEALTH);
    assert_eq!(r.json()["services"]["cache"]["latency"], 250.5);
    app.set_health(503, r#"{"status":"unhealthy"}"#);
    let r = http_get(&app.url("/health"), &[]);
    assert_eq!(
        (r.status, r.text().as_str()),
        (503, r#"{"status":"unhealthy"}"#)
    );

    assert_eq!(http_get(&app.url("/status/503"), &[]).status, 503);
    assert_eq!(http_get(&app.url("/status/204"), &[]).status, 204);
    assert_eq!(http_get(&app.url("/nope"), &[]).status, 404);
    let r = http_get(&app.url("/html"), &[]);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let r = http_get(&app.url("/json"), &[]);
    assert_eq!(r.header("content-type"), Some("application/json"));
    r.json();

    let r = http_get(&app.url("/invalid-utf8"), &[]);
    let err = parse(&r.body, Format::Classic, &ParseLimits::default()).unwrap_err();
    assert_eq!(err.line, 3, "{err}");

    let r = http_get(&app.url("/many?series=1000"), &[]);
    let families = parsed(&r.body, Format::Classic).families;
    assert_eq!(families.len(), 1);
    assert_eq!(families[0].samples.len(), 1000);

    app.set_route("/custom", 200, "text/plain", b"custom_metric 1\n");
    let r = http_get(&app.url("/custom"), &[]);
    assert_eq!(r.text(), "custom_metric 1\n");

    let r = http_request("HEAD", &app.url("/metrics"), &[], &[]).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    let r = http_request("POST", &app.url("/json"), &[], b"{\"a\":1}").unwrap();
    assert_eq!(r.status, 200);
    let post = app.requests_to("/json").pop().unwrap();
    assert_eq!(
        (post.method.as_str(), post.body.as_slice()),
        ("POST", &b"{\"a\":1}"[..])
    );
}

#[test]
fn auth_metrics() {
    let app = TestApp::start();
    let r = http_get(&app.url("/auth/metrics"), &[]);
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").is_some());
    let r = http_get(
        &app.url("/auth/metrics"),
        &[("Authorization", "Bearer wrong")],
    );
    assert_eq!(r.status, 401);
    for auth in ["Basic dXNlcjpwYXNz", "Bearer s3cret"] {
        let r = http_get(&app.url("/auth/metrics"), &[("Authorization", auth)]);
        assert_eq!(r.status, 200, "{auth}");
        assert!(r.text().contains("app_http_requests_total"));
    }
    let seen: Vec<_> = app
        .requests()
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        seen,
        [
            None,
            Some("Bearer wrong".into()),
            Some("Basic dXNlcjpwYXNz".into()),
            Some("Bearer s3cret".into())
        ]
    );
}

#[test]
fn big_body_has_the_size_asked_for() {
    let app = TestApp::start();
    let r = http_get(&app.url("/big?mb=1"), &[]);
    assert_eq!(r.body.len(), 1024 * 1024);
    let families = parsed(&r.body, Format::Classic).families;
    assert!(families[0].samples.len() > 30_000);
    let r = http_get(&app.url("/big?mb=0.0001"), &[]);
    assert_eq!(r.body.len(), 104);
    parsed(&r.body, Format::Classic);
}

#[test]
fn gzip_bomb_is_small_and_inflates_to_metric_text() {
    let app = TestApp::start();
    let r = http_get(&app.url("/gzip-bomb"), &[]);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert!(
        r.body.len() < 1_100_000,
        "compressed: {} bytes",
        r.body.len()
    );
    const { assert!(GZIP_BOMB_INFLATED >= 1 << 30) };
    let mut head = Vec::new();
    GzDecoder::new(r.body.as_slice())
        .take(10 << 20)
        .read_to_end(&mut head)
        .unwrap();
    assert_eq!(head.len(), 10 << 20);
    let text = String::from_utf8(head).unwrap();
    assert!(text.starts_with("# HELP app_gzip_bomb "));
    let whole_lines = &text[..text.rfind('\n').unwrap() + 1];
    let families = parsed(whole_lines.as_bytes(), Format::Classic);
    assert!(families.duplicates >= 16);

    // The trailer's ISIZE is the length mod 2^32; gzip(1) checks every block and the
    // CRC (inflating 1 GiB: a few seconds).
    let isize = u32::from_le_bytes(r.body[r.body.len() - 4..].try_into().unwrap());
    assert_eq!(u64::from(isize), GZIP_BOMB_INFLATED % (1 << 32));
    let dir = common::tempdir("test-app-bomb-");
    let path = dir.path().join("bomb.gz");
    std::fs::write(&path, &r.body).unwrap();
    let out = Command::new("gzip").arg("-t").arg(&path).output().unwrap();
    assert!(out.status.success(), "gzip -t: {out:?}");
}

#[test]
fn slow_stall_and_endless() {
    let app = TestApp::start();
    let start = Instant::now();
    let r = http_get(&app.url("/slow?ms=300"), &[]);
    assert_eq!(r.status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));

    // /stall: the head and a few bytes, then nothing.
    let mut s = raw_request(&app, "/stall");
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let err = loop {
        match s.read(&mut buf) {
            Ok(0) => panic!("/stall closed the connection"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => break e,
        }
    };
    assert!(matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
    let got = String::from_utf8_lossy(&got);
    assert!(got.contains("Content-Length: 1048576\r\n"), "{got}");
    assert!(got.ends_with("# TYPE app_st"), "{got}");

    // /endless: read a few MB, then hang up mid-body; the server carries on.
    let mut s = raw_request(&app, "/endless");
    let mut total = 0;
    while total < 4 << 20 {
        total += s.read(&mut buf).unwrap();
    }
    drop(s);
    let r = http_get(&app.url("/metrics"), &[]);
    assert_eq!(r.status, 200);
}

#[test]
fn drop_ends_stalled_and_endless_handlers() {
    let app = TestApp::start();
    let mut stalled = raw_request(&app, "/stall");
    let mut endless = raw_request(&app, "/endless");
    let mut buf = [0u8; 4096];
    assert!(stalled.read(&mut buf).unwrap() > 0);
    assert!(endless.read(&mut buf).unwrap() > 0);
    let start = Instant::now();
    drop(app);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "drop took {:?}",
        start.elapsed()
    );
    // Both clients now see their connection end instead of waiting forever.
    for (what, s) in [("/stall", &mut stalled), ("/endless", &mut endless)] {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => assert!(Instant::now() < deadline, "{what} still sending"),
            }
        }
    }
}

/// GET over TLS with rustls, trusting the certificates in `ca_pem`.
fn https_get(app: &TestApp, path: &str, ca_pem: &Path) -> std::io::Result<String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_pem).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(app.addr())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out)?;
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn tls_with_pki_certificates() {
    let pki = Pki::new();
    pki.self_signed("self");
    pki.signed("app", "subjectAltName=DNS:localhost");

    let app = TestApp::start_tls(&pki.path("app.pem"), &pki.path("app.key"));
    assert!(app.url("/metrics").starts_with("https://localhost:"));
    let response = https_get(&app, "/metrics", &pki.path("ca.pem")).expect("TLS GET");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("app_http_requests_total"));
    assert!(https_get(&app, "/metrics", &pki.path("other-ca.pem")).is_err());
    // A plain-HTTP client gets no answer, and the server carries on.
    let plain = app.url("/metrics").replace("https://", "http://");
    assert!(common::try_http_get(&plain, &[]).is_err());
    let response = https_get(&app, "/health", &pki.path("ca.pem")).unwrap();
    assert!(response.contains("\"healthy\""));
    assert_eq!(app.requests().len(), 2);

    // The self-signed certificate: openssl's `req -x509` marks it CA:TRUE, which webpki
    // (rustls) refuses in a server certificate even when trusted, so openssl checks it.
    let app = TestApp::start_tls(&pki.path("self.pem"), &pki.path("self.key"));
    let refused = https_get(&app, "/metrics", &pki.path("self.pem")).unwrap_err();
    assert!(
        format!("{refused:?}").contains("CaUsedAsEndEntity"),
        "{refused:?}"
    );
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect"])
        .arg(app.addr().to_string())
        .args(["-servername", "localhost", "-verify_hostname", "localhost"])
        .args(["-verify_return_error", "-ign_eof", "-CAfile"])
        .arg(pki.path("self.pem"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Verify return code: 0 (ok)"), "{stdout}");
    assert!(stdout.contains("HTTP/1.1 200 OK"), "{stdout}");
    assert!(stdout.contains("app_http_requests_total"), "{stdout}");
}

#[test]
fn rich_bodies_parse_and_cover_every_type() {
    let now = 1_760_000_000_123;
    let om = parsed(rich_openmetrics(now).as_bytes(), Format::OpenMetrics);
    let kinds: BTreeSet<String> = om
        .families
        .iter()
        .map(|f| format!("{:?}", f.kind))
        .collect();
    for kind in [
        MetricType::Counter,
        MetricType::Gauge,
        MetricType::Histogram,
        MetricType::GaugeHistogram,
        MetricType::Summary,
        MetricType::Info,
        MetricType::StateSet,
        MetricType::Unknown,
    ] {
        assert!(
            kinds.contains(&format!("{kind:?}")),
            "no {kind:?} in {kinds:?}"
        );
    }
    assert_eq!(om.exemplars.len(), 3);
    assert_eq!(om.exemplars_dropped, 0);
    assert_eq!(om.duplicates, 0);
    let family = |p: &Parsed, name: &str| {
        p.families
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no family {name}"))
            .clone()
    };
    assert_eq!(family(&om, "app_cpu_seconds").unit, "seconds");
    assert_eq!(
        family(&om, "app_label_values").help,
        "Label values with a backslash \\, a newline \n, \"quotes\" and UTF-8: é 日本."
    );
    let timestamped: Vec<_> = om
        .families
        .iter()
        .flat_map(|f| &f.samples)
        .filter_map(|s| s.timestamp_ms)
        .collect();
    assert_eq!(timestamped, [rich_timestamp_ms(now); 3]);
    assert_eq!(rich_timestamp_ms(now), 1_759_999_990_250);

    let classic = parsed(rich_classic(now).as_bytes(), Format::Classic);
    assert_eq!(classic.duplicates, 0);
    assert_eq!(
        family(&classic, "app_legacy_events").kind,
        MetricType::Counter
    );
    assert_eq!(family(&om, "app_legacy_events").kind, MetricType::Unknown);
    assert_eq!(
        family(&classic, "app_label_values").help,
        family(&om, "app_label_values").help
    );
}

/// Every sample as Prometheus would store it: name, labels without empty values
/// (Prometheus drops those), value bits, timestamp.
fn stored_series(p: &Parsed) -> BTreeSet<String> {
    p.families
        .iter()
        .flat_map(|f| &f.samples)
        .map(|s| {
            let mut labels: Vec<_> = s.labels.iter().filter(|(_, v)| !v.is_empty()).collect();
            labels.sort();
            format!(
                "{}{labels:?} {:#x} {:?}",
                s.name,
                s.value.to_bits(),
                s.timestamp_ms
            )
        })
        .collect()
}

#[test]
fn rich_bodies_hold_the_same_series() {
    let now = 1_760_000_000_999;
    let classic = stored_series(&parsed(rich_classic(now).as_bytes(), Format::Classic));
    let om = stored_series(&parsed(
        rich_openmetrics(now).as_bytes(),
        Format::OpenMetrics,
    ));
    assert_eq!(
        classic.difference(&om).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "only in classic"
    );
    assert_eq!(
        om.difference(&classic).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "only in OpenMetrics"
    );
    assert_eq!(classic.len(), 65);
    let source = classic.iter().any(|s| s.contains("(\"source\", \"cron\")"));
    assert!(source, "a series with its own source label");
}

#[test]
fn rich_classic_passes_promtool() {
    let findings = promtool_findings(&rich_classic(1_760_000_000_000));
    assert_eq!(
        findings,
        ["app_legacy_events counter metrics should have \"_total\" suffix"],
    );
    assert_eq!(promtool_findings(&many_series(50)), Vec::<String>::new());
}

/// What Prometheus stored from one job: every `app_*` series without `job`/`instance`,
/// with its value as text (NaN compares equal that way).
fn stored_by_prometheus(prometheus: &TempPrometheus, job: &str) -> BTreeSet<String> {
    prometheus
        .query_vector(&format!("{{__name__=~\"app_.+\",job=\"{job}\"}}"))
        .into_iter()
        .map(|(mut labels, value)| {
            labels.remove("job");
            labels.remove("instance");
            format!("{labels:?} {value:?}")
        })
        .collect()
}

#[test]
fn prometheus_stores_the_same_series_from_either_format() {
    let classic = TestApp::start();
    classic.set_format_mode(FormatMode::ClassicOnly);
    let om = TestApp::start();
    let prometheus = TempPrometheus::start_jobs(&[
        ScrapeJob::new("classic", &[&classic.addr().to_string()]),
        ScrapeJob::new("om", &[&om.addr().to_string()]),
    ]);
    prometheus.wait_for(
        "count(up == 1) == 2",
        |v| !common::vector_samples(v).is_empty(),
        Duration::from_secs(30),
    );
    assert!(om.requests()[0]
        .header("accept")
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let from_classic = stored_by_prometheus(&prometheus, "classic");
    let from_om = stored_by_prometheus(&prometheus, "om");
    assert_eq!(from_classic.len(), 65, "{from_classic:#?}");
    assert_eq!(from_classic, from_om);
    let scraped = prometheus.query_vector("scrape_samples_scraped");
    assert!(scraped.iter().all(|(_, v)| *v == 65.0), "{scraped:?}");
    let log = prometheus.log();
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("level=warn") || l.contains("level=error"))
        .collect();
    assert!(complaints.is_empty(), "{complaints:#?}");
}

#[test]
fn float_formats_follow_the_clients() {
    let cases = [
        (1027.0, "1027", "1027.0"),
        (1e-9, "1e-09", "1e-09"),
        (1234567.0, "1.234567e+06", "1.234567e+06"),
        (2.5e10, "2.5e+10", "2.5e+010"),
        (1.7e9, "1.7e+09", "1.7e+09"),
        (
            1.8446744073709552e19,
            "1.8446744073709552e+19",
            "1.8446744073709552e+19",
        ),
        (-0.0, "-0", "-0.0"),
        (0.25, "0.25", "0.25"),
        (-42.5, "-42.5", "-42.5"),
        (f64::NEG_INFINITY, "-Inf", "-Inf"),
    ];
    for (v, go, py) in cases {
        assert_eq!(
            (go_float(v), py_float(v)),
            (go.to_owned(), py.to_owned()),
            "{v}"
        );
    }
}

#[test]
fn hanging_and_churning_routes() {
    let app = TestApp::start();
    app.set_hanging_route("/hang");
    let mut s = raw_request(&app, "/hang");
    s.set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut buf = [0u8; 64];
    let err = s.read(&mut buf).expect_err("/hang answered");
    assert!(matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
    assert_eq!(app.open_connections(), 1);
    // The client leaving ends the handler.
    drop(s);
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.open_connections() > 0 {
        assert!(
            Instant::now() < deadline,
            "the hung handler outlived its client"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    app.set_churning_route("/churn", 1000);
    let bodies: Vec<String> = (0..2)
        .map(|_| http_get(&app.url("/churn"), &[]).text())
        .collect();
    assert_eq!(bodies[0], churn_series(1000, 0));
    assert_eq!(bodies[1], churn_series(1000, 1));
    for body in &bodies {
        let p = parsed(body.as_bytes(), Format::Classic);
        assert_eq!(p.families.len(), 1);
        assert_eq!(p.families[0].samples.len(), 1000);
    }
}
