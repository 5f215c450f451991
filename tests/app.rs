//! The app source against a real HTTP(S) app (`tests/common/test_app.rs`): scraping its
//! `/metrics` in both formats, hostile apps (each must give a clear reason, bounded
//! memory, and leave the rest of `/metrics` alone), and blackbox-style probes.

mod common;

use std::time::Duration;

use common::test_app::{FormatMode, TestApp};
use common::{free_port, metrics, once, once_ok, samples, value, wait_until, ExporterProcess, Pki};

const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

fn app_config(name: &str, extra: &str) -> String {
    format!("apps:\n  - name: {name}\n    interval: 2s\n    timeout: 2s\n{extra}")
}

// ---------------------------------------------------------------- scraping

#[test]
fn scrapes_like_prometheus_and_adds_source() {
    for mode in [FormatMode::Negotiate, FormatMode::ClassicOnly] {
        let app = TestApp::start();
        app.set_format_mode(mode);
        let out = once_ok(&app_config(
            "api",
            &format!(
                "    labels: {{ team: core }}\n    metrics_url: {}\n",
                app.url("/metrics")
            ),
        ));
        let s = samples(&out);
        // Our labels first; the app's own `source` label is kept as exported_source.
        let app_series: Vec<_> = s.iter().filter(|(n, _, _)| n.starts_with("app_")).collect();
        assert!(app_series.len() >= 40, "{mode:?}: {out}");
        for (name, labels, _) in &app_series {
            assert_eq!(
                labels.get("source").map(String::as_str),
                Some("api"),
                "{name}"
            );
            assert_eq!(
                labels.get("team").map(String::as_str),
                Some("core"),
                "{name}"
            );
        }
        assert!(
            app_series
                .iter()
                .any(|(_, l, _)| l.contains_key("exported_source")),
            "{mode:?}: no exported_source in {out}"
        );

        let requests = app.requests_to("/metrics");
        assert_eq!(requests.len(), 1, "{mode:?}");
        let r = &requests[0];
        assert_eq!(r.header("accept"), Some(PROMETHEUS_ACCEPT));
        assert_eq!(r.header("accept-encoding"), Some("gzip"));
        let timeout: f64 = r
            .header("x-prometheus-scrape-timeout-seconds")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(timeout, 2.0);
        assert!(r
            .header("user-agent")
            .unwrap()
            .starts_with("stack_exporter/"));
    }
}

#[test]
fn several_metrics_urls_get_a_target_label() {
    let a = TestApp::start();
    let b = TestApp::start();
    let out = once_ok(&app_config(
        "api",
        &format!(
            "    metrics_url:\n      - {}\n      - {}\n",
            a.url("/many?series=3"),
            b.url("/many?series=3")
        ),
    ));
    let s = samples(&out);
    for app in [&a, &b] {
        let target = format!("127.0.0.1:{}", app.port());
        for i in 0..3 {
            let i = i.to_string();
            assert!(
                value(
                    &s,
                    "app_many_series",
                    &[("source", "api"), ("target", &target), ("i", &i)]
                )
                .is_some(),
                "{target} {i}: {out}"
            );
        }
    }
}

#[test]
fn credentials_tls_and_redirects() {
    let app = TestApp::start();
    // Basic auth and bearer token, from the config and from a file.
    let dir = common::tempdir("stack-exporter-app-auth-");
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    for auth in [
        "    basic_auth: { username: user, password: pass }\n".to_owned(),
        format!("    bearer_token_file: {}\n", token.display()),
    ] {
        let out = once_ok(&app_config(
            "api",
            &format!("    metrics_url: {}\n{auth}", app.url("/auth/metrics")),
        ));
        assert!(
            out.contains("app_http_requests_total{source=\"api\""),
            "{out}"
        );
        assert!(!out.contains("s3cret") && !out.contains("pass\""), "{out}");
    }
    let (code, out, err) = once(&app_config(
        "api",
        &format!("    metrics_url: {}\n", app.url("/auth/metrics")),
    ));
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("auth: ") && err.contains("HTTP status 401 Unauthorized"),
        "{err}"
    );
    let (_, _, err) = once(&app_config(
        "api",
        &format!(
            "    metrics_url: {}\n    bearer_token: wrong-token-9\n",
            app.url("/auth/metrics")
        ),
    ));
    assert!(
        err.contains("401") && !err.contains("wrong-token-9"),
        "{err}"
    );

    // One redirect is followed; with max_redirects 0 the 302 itself is the answer.
    let redirect = app.url("/redirect?to=/many%3Fseries%3D2");
    let out = once_ok(&app_config(
        "api",
        &format!("    metrics_url: {redirect}\n"),
    ));
    assert!(
        out.contains("app_many_series{source=\"api\",i=\"1\"}"),
        "{out}"
    );
    let (code, _, err) = once(&app_config(
        "api",
        &format!("    metrics_url: {redirect}\n    max_redirects: 0\n"),
    ));
    assert_eq!(code, 1);
    assert!(
        err.contains("http_status: ") && err.contains("302 Found"),
        "{err}"
    );

    // HTTPS with a private CA: refused without it, scraped with it.
    let pki = Pki::new();
    pki.signed("app", "subjectAltName=DNS:localhost");
    let tls_app = TestApp::start_tls(&pki.path("app.pem"), &pki.path("app.key"));
    let url = tls_app.url("/many?series=1");
    let (code, _, err) = once(&app_config("api", &format!("    metrics_url: {url}\n")));
    assert_eq!(code, 1);
    assert!(
        err.contains("tls: ") && err.contains("not issued by a trusted CA (check tls.ca_file)"),
        "{err}"
    );
    let out = once_ok(&app_config(
        "api",
        &format!(
            "    metrics_url: {url}\n    tls: {{ ca_file: {} }}\n",
            pki.file("ca.pem")
        ),
    ));
    assert!(
        out.contains("app_many_series{source=\"api\",i=\"0\"} 0"),
        "{out}"
    );
}

/// One exporter with a well-behaved app beside every kind of hostile one: each hostile
/// source fails with its own reason and message, the good one keeps being served, and
/// memory stays bounded.
#[test]
fn hostile_apps_fail_clearly_and_alone() {
    let app = TestApp::start();
    let refused = format!("http://127.0.0.1:{}/metrics", free_port());
    // Reading 16 MiB (and inflating it) must not hit the timeout even on a loaded
    // machine with a debug build: these must fail on the size, not the time.
    const HEAVY: &str = "    interval: 20s\n    timeout: 20s\n";
    // (source, URL, extra YAML, reason, message fragment)
    let hostile: Vec<(&str, String, &str, &str, &str)> = vec![
        (
            "slow",
            app.url("/slow?ms=5000"),
            "",
            "timeout",
            "no complete response within",
        ),
        (
            "stall",
            app.url("/stall"),
            "",
            "timeout",
            "no complete response within",
        ),
        (
            "endless",
            app.url("/endless"),
            HEAVY,
            "limit",
            "the body exceeds max_body_size (16MiB)",
        ),
        (
            "big",
            app.url("/big?mb=50"),
            HEAVY,
            "limit",
            "the body (Content-Length) exceeds max_body_size (16MiB)",
        ),
        (
            "bomb",
            app.url("/gzip-bomb"),
            HEAVY,
            "limit",
            "the decompressed body exceeds max_body_size (16MiB)",
        ),
        (
            "utf8",
            app.url("/invalid-utf8"),
            "",
            "protocol",
            "line 3, column",
        ),
        (
            "html",
            app.url("/html"),
            "",
            "protocol",
            "Content-Type was `text/html`, not a metrics format",
        ),
        (
            "json",
            app.url("/json"),
            "",
            "protocol",
            "Content-Type was `application/json`",
        ),
        (
            "loop",
            app.url("/redirect-loop"),
            "",
            "limit",
            "stopped after 10 redirects",
        ),
        (
            "refused",
            refused,
            "",
            "connect",
            "cannot connect to 127.0.0.1:",
        ),
        (
            "s500",
            app.url("/status/500"),
            "",
            "http_status",
            "HTTP status 500 Internal Server Error",
        ),
        (
            "many",
            app.url("/many?series=500"),
            "    scrape: { sample_limit: 100 }\n",
            "sample_limit",
            "more than sample_limit (100) series",
        ),
    ];
    let mut yaml = format!(
        "apps:\n  - name: good\n    interval: 2s\n    timeout: 2s\n    metrics_url: {}\n",
        app.url("/metrics")
    );
    for (name, url, extra, _, _) in &hostile {
        let timing = if extra.contains("timeout:") {
            ""
        } else {
            "    interval: 2s\n    timeout: 2s\n"
        };
        yaml.push_str(&format!(
            "  - name: {name}\n{timing}    metrics_url: '{url}'\n{extra}"
        ));
    }

    // --once reports every source's error on stderr, one line each.
    let (code, out, err) = once(&yaml);
    assert_eq!(code, 1);
    assert!(
        out.contains("app_http_requests_total{source=\"good\""),
        "{out}"
    );
    for (name, _, _, reason, fragment) in &hostile {
        let line = err
            .lines()
            .find(|l| l.starts_with(&format!("source {name} (app): ")))
            .unwrap_or_else(|| panic!("no error line for {name}:\n{err}"));
        assert!(
            line.contains(&format!("(app): {reason}: ")) && line.contains(fragment),
            "{name}: expected {reason} with `{fragment}`, got: {line}"
        );
    }

    // Served continuously: errors are counted by reason, the good app keeps its series.
    let exporter = ExporterProcess::start(&yaml, &[]);
    wait_until(
        Duration::from_secs(60),
        "every hostile source failed",
        || {
            let s = samples(&metrics(&exporter));
            hostile.iter().all(|(name, _, _, reason, _)| {
                value(
                    &s,
                    "stack_exporter_source_errors_total",
                    &[("source", name), ("reason", reason)],
                )
                .unwrap_or(0.0)
                    >= 1.0
            })
        },
    );
    let body = metrics(&exporter);
    let s = samples(&body);
    assert_eq!(
        value(&s, "stack_exporter_source_up", &[("source", "good")]),
        Some(1.0)
    );
    assert!(
        body.contains("app_http_requests_total{source=\"good\""),
        "{body}"
    );
    for (name, _, _, _, _) in &hostile {
        assert_eq!(
            value(&s, "stack_exporter_source_up", &[("source", name)]),
            Some(0.0),
            "{name}"
        );
        // Nothing of a failed scrape is served.
        assert!(
            !s.iter().any(
                |(n, l, _)| l.get("source").map(String::as_str) == Some(name)
                    && !n.starts_with("stack_exporter_")
            ),
            "{name} has series"
        );
    }
    // The 50 MB body, the 1 GiB gzip bomb and the endless body were each cut at 16 MiB.
    let peak_kb = common::faults::peak_rss_kb(exporter.pid());
    eprintln!("peak RSS with hostile apps: {peak_kb} kB");
    assert!(peak_kb < 160 * 1024, "peak RSS {peak_kb} kB");
}

#[test]
fn a_failed_scrape_keeps_the_probes_and_recovers() {
    let app = TestApp::start();
    app.set_route("/flaky", 500, "text/plain", b"database is down\n");
    let exporter = ExporterProcess::start(
        &format!(
            "apps:\n  - name: api\n    interval: 1s\n    timeout: 1s\n    metrics_url: {}\n    probes:\n      - {{ url: '{}', name: health }}\n",
            app.url("/flaky"),
            app.url("/health")
        ),
        &[],
    );
    wait_until(
        Duration::from_secs(20),
        "the scrape failed with reason http_status",
        || {
            let s = samples(&metrics(&exporter));
            value(
                &s,
                "stack_exporter_source_errors_total",
                &[("source", "api"), ("reason", "http_status")],
            )
            .unwrap_or(0.0)
                >= 1.0
        },
    );
    let s = samples(&metrics(&exporter));
    // The probe of that same poll is published, and succeeded.
    assert_eq!(
        value(&s, "probe_success", &[("probe", "health")]),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "stack_exporter_source_up", &[("source", "api")]),
        Some(0.0)
    );
    let status_page = exporter.get("/").text();
    assert!(
        status_page.contains("server returned HTTP status 500 Internal Server Error"),
        "{status_page}"
    );
    // The Target column names what the source polls: the metrics URL, then the probe's.
    assert!(
        status_page.contains(&format!(
            "<code>{}, {}</code>",
            app.url("/flaky"),
            app.url("/health")
        )),
        "{status_page}"
    );

    app.set_route(
        "/flaky",
        200,
        "text/plain; version=0.0.4",
        b"# TYPE jobs_waiting gauge\njobs_waiting 7\n",
    );
    wait_until(Duration::from_secs(20), "the app's series are back", || {
        let s = samples(&metrics(&exporter));
        value(&s, "jobs_waiting", &[("source", "api")]) == Some(7.0)
            && value(&s, "stack_exporter_source_up", &[("source", "api")]) == Some(1.0)
    });
}

#[test]
fn type_conflicts_across_apps_drop_the_later_family() {
    let first = TestApp::start();
    let second = TestApp::start();
    second.set_route(
        "/conflict",
        200,
        "text/plain; version=0.0.4",
        b"# TYPE app_many_series counter\napp_many_series{i=\"0\"} 5\n# TYPE other gauge\nother 1\n",
    );
    let third = TestApp::start();
    let exporter = ExporterProcess::start(
        &format!(
            "apps:\n  - name: first\n    interval: 1s\n    timeout: 1s\n    metrics_url: {}\n  - name: second\n    interval: 1s\n    timeout: 1s\n    metrics_url: {}\n  - name: third\n    interval: 1s\n    timeout: 1s\n    metrics_url: {}\n",
            first.url("/many?series=2"),
            second.url("/conflict"),
            third.url("/many?series=1")
        ),
        &[],
    );
    wait_until(Duration::from_secs(20), "both apps scraped", || {
        let s = samples(&metrics(&exporter));
        value(&s, "other", &[("source", "second")]).is_some()
            && value(&s, "app_many_series", &[("source", "first"), ("i", "1")]).is_some()
            && value(&s, "app_many_series", &[("source", "third"), ("i", "0")]).is_some()
    });
    let body = metrics(&exporter);
    // The first source owns the name; the second's counter is left out, not mixed in;
    // the third's gauge joins the first's under one header.
    assert!(body.contains("# TYPE app_many_series gauge\napp_many_series{source=\"first\",i=\"0\"} 0\napp_many_series{source=\"first\",i=\"1\"} 1\napp_many_series{source=\"third\",i=\"0\"} 0\n"), "{body}");
    assert_eq!(body.matches("# TYPE app_many_series ").count(), 1, "{body}");
    assert!(!body.contains("source=\"second\",i=\"0\""), "{body}");
    // Conflicts are found while rendering, so the count shows from the next render on.
    wait_until(Duration::from_secs(10), "the conflict is counted", || {
        let s = samples(&metrics(&exporter));
        value(
            &s,
            "stack_exporter_source_series_dropped",
            &[("source", "second"), ("reason", "type_conflict")],
        ) == Some(1.0)
    });
    let om = exporter
        .get_with("/metrics", &[("Accept", "application/openmetrics-text")])
        .text();
    assert!(om.contains("# TYPE app_many_series gauge\n"), "{om}");
    assert!(!om.contains("source=\"second\",i=\"0\""), "{om}");
}

// ---------------------------------------------------------------- probes

#[test]
fn probes_status_body_and_json_checks() {
    let app = TestApp::start();
    let health = app.url("/health");
    let yaml = app_config(
        "api",
        &format!(
            r#"    probes:
      - url: '{health}'
        name: ok
        body_regex: '"status":\s*"healthy"'
        body_not_regex: maintenance
        json:
          - {{ pointer: /status, equals: healthy }}
          - {{ pointer: /queue/depth, equals: 42 }}
        json_services: {{ pointer: /services }}
        json_values:
          - {{ pointer: /queue/depth, metric: app_queue_depth }}
      - url: '{health}'
        name: regex_fails
        body_regex: 'unhealthy'
      - url: '{health}'
        name: json_fails
        json: [{{ pointer: /version, equals: 2.0.0 }}]
      - url: '{s503}'
        name: status_fails
      - url: '{s503}'
        name: status_expected
        expected_status: [503]
      - url: '{post}'
        name: post
        method: POST
        body: '{{"deep":true}}'
        headers: {{ X-Probe: yes-1 }}
        expected_status: [404]
      - url: '{redirect}'
        name: redirected
"#,
            s503 = app.url("/status/503"),
            post = app.url("/probe-post"),
            redirect = app.url("/redirect?to=/health"),
        ),
    );
    let out = once_ok(&yaml);
    let s = samples(&out);
    let probe = |name: &str, probe: &str| value(&s, name, &[("probe", probe)]);
    for (name, success) in [
        ("ok", 1.0),
        ("regex_fails", 0.0),
        ("json_fails", 0.0),
        ("status_fails", 0.0),
        ("status_expected", 1.0),
        ("post", 1.0),
        ("redirected", 1.0),
    ] {
        assert_eq!(probe("probe_success", name), Some(success), "{name}: {out}");
    }
    assert_eq!(probe("probe_http_status_code", "status_fails"), Some(503.0));
    assert_eq!(probe("probe_failed_due_to_regex", "ok"), Some(0.0));
    assert_eq!(probe("probe_failed_due_to_regex", "regex_fails"), Some(1.0));
    assert_eq!(probe("probe_failed_due_to_json", "ok"), Some(0.0));
    assert_eq!(probe("probe_failed_due_to_json", "json_fails"), Some(1.0));
    assert_eq!(probe("probe_failed_due_to_regex", "status_fails"), None);
    assert_eq!(probe("probe_http_redirects", "redirected"), Some(1.0));
    assert_eq!(probe("probe_http_redirects", "ok"), Some(0.0));
    assert_eq!(probe("probe_http_ssl", "ok"), Some(0.0));
    assert_eq!(probe("app_queue_depth", "ok"), Some(42.0));
    let body_len = common::test_app::DEFAULT_HEALTH.len() as f64;
    assert_eq!(probe("probe_http_content_length", "ok"), Some(body_len));
    assert_eq!(
        probe("probe_http_uncompressed_body_length", "ok"),
        Some(body_len)
    );
    let service =
        |name: &str, service: &str| value(&s, name, &[("probe", "ok"), ("service", service)]);
    assert_eq!(service("app_health_service_up", "database"), Some(1.0));
    assert_eq!(service("app_health_service_up", "cache"), Some(0.0));
    assert_eq!(
        service("app_health_service_latency_seconds", "database"),
        Some(0.015)
    );
    assert_eq!(
        service("app_health_service_latency_seconds", "cache"),
        Some(0.2505)
    );
    for phase in ["resolve", "connect", "tls", "processing", "transfer"] {
        let d = value(
            &s,
            "probe_http_duration_seconds",
            &[("probe", "ok"), ("phase", phase)],
        );
        assert!(d.is_some_and(|d| d >= 0.0), "{phase}: {d:?}");
    }
    let processing = value(
        &s,
        "probe_http_duration_seconds",
        &[("probe", "ok"), ("phase", "processing")],
    );
    assert!(processing.is_some_and(|d| d > 0.0), "{processing:?}");

    let post = app.requests_to("/probe-post");
    assert_eq!(post.len(), 1);
    assert_eq!(post[0].method, "POST");
    assert_eq!(post[0].body, b"{\"deep\":true}");
    assert_eq!(post[0].header("x-probe"), Some("yes-1"));

    // A health body that stops being JSON fails the JSON probe with a reason, and the
    // extracted series go away rather than keep their last values.
    app.set_health(200, "<html>maintenance</html>");
    let out = once_ok(&yaml);
    let s = samples(&out);
    assert_eq!(value(&s, "probe_success", &[("probe", "ok")]), Some(0.0));
    assert_eq!(
        value(&s, "probe_failed_due_to_json", &[("probe", "ok")]),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "probe_failed_due_to_regex", &[("probe", "ok")]),
        Some(1.0)
    );
    assert_eq!(value(&s, "app_queue_depth", &[("probe", "ok")]), None);
    assert!(!out.contains("app_health_service_up"), "{out}");
}

#[test]
fn probes_over_tls_report_expiry_and_phases() {
    let pki = Pki::new();
    pki.signed("app", "subjectAltName=DNS:localhost");
    pki.self_signed("selfsigned");
    let signed = TestApp::start_tls(&pki.path("app.pem"), &pki.path("app.key"));
    let self_signed = TestApp::start_tls(&pki.path("selfsigned.pem"), &pki.path("selfsigned.key"));
    let probes = |tls: &str| {
        app_config(
            "api",
            &format!(
                "{tls}    probes:\n      - {{ url: '{}', name: signed }}\n      - {{ url: '{}', name: selfsigned }}\n",
                signed.url("/health"),
                self_signed.url("/health")
            ),
        )
    };

    // Trusting the private CA: the CA-signed server passes, the self-signed one fails.
    let out = once_ok(&probes(&format!(
        "    tls: {{ ca_file: {} }}\n",
        pki.file("ca.pem")
    )));
    let s = samples(&out);
    assert_eq!(
        value(&s, "probe_success", &[("probe", "signed")]),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "probe_http_ssl", &[("probe", "signed")]),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "probe_success", &[("probe", "selfsigned")]),
        Some(0.0)
    );
    assert_eq!(
        value(&s, "probe_http_status_code", &[("probe", "selfsigned")]),
        Some(0.0)
    );
    let expiry =
        value(&s, "probe_ssl_earliest_cert_expiry", &[("probe", "signed")]).expect("cert expiry");
    let openssl_expiry = cert_not_after(&pki.file("app.pem"));
    assert_eq!(expiry, openssl_expiry as f64);
    let tls_phase = value(
        &s,
        "probe_http_duration_seconds",
        &[("probe", "signed"), ("phase", "tls")],
    );
    assert!(tls_phase.is_some_and(|d| d > 0.0), "{tls_phase:?}");

    // insecure_skip_verify: both pass, and the expiry is still reported.
    let out = once_ok(&probes("    tls: { insecure_skip_verify: true }\n"));
    let s = samples(&out);
    assert_eq!(
        value(&s, "probe_success", &[("probe", "selfsigned")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &s,
            "probe_ssl_earliest_cert_expiry",
            &[("probe", "selfsigned")]
        ),
        Some(cert_not_after(&pki.file("selfsigned.pem")) as f64)
    );
}

/// `notAfter` of a PEM certificate as Unix seconds, by the openssl CLI.
fn cert_not_after(pem: &str) -> i64 {
    let out = std::process::Command::new("openssl")
        .args([
            "x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in", pem,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let date = text.trim().trim_start_matches("notAfter=");
    let out = std::process::Command::new("date")
        .args(["-u", "-d", date, "+%s"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

// ---------------------------------------------------------------- probe status and log

fn polls(exporter: &ExporterProcess) -> f64 {
    let s = samples(&metrics(exporter));
    value(
        &s,
        "stack_exporter_source_polls_total",
        &[("source", "api")],
    )
    .unwrap_or(0.0)
}

/// Waits until `n` more polls have been published, so that a change had its chance to
/// be logged more than once.
fn wait_polls(exporter: &ExporterProcess, n: f64) {
    let target = polls(exporter) + n;
    wait_until(Duration::from_secs(30), "more polls", || {
        polls(exporter) >= target
    });
}

fn probe_success(exporter: &ExporterProcess) -> Option<f64> {
    value(
        &samples(&metrics(exporter)),
        "probe_success",
        &[("probe", "health")],
    )
}

#[test]
fn a_failing_probe_is_shown_and_logged_once_each_way() {
    let app = TestApp::start();
    let health = app.url("/health");
    let exporter = ExporterProcess::start(
        &format!(
            "apps:\n  - name: api\n    interval: 1s\n    timeout: 1s\n    probes:\n      - {{ url: '{health}', name: health }}\n"
        ),
        &[],
    );
    wait_until(Duration::from_secs(20), "the probe passed", || {
        probe_success(&exporter) == Some(1.0)
    });
    wait_polls(&exporter, 2.0);
    let page = exporter.get("/").text();
    assert!(page.contains("<td class=\"up\">up</td>"), "{page}");
    assert!(
        page.contains("<td>probe</td><td colspan=\"8\">health: HTTP 200 in "),
        "{page}"
    );
    let logs = exporter.logs();
    assert!(!logs.contains("probe failing"), "{logs}");
    assert!(!logs.contains("probe recovered"), "never down: {logs}");

    app.set_health(503, "{\"status\":\"maintenance\"}");
    wait_until(Duration::from_secs(20), "the probe failed", || {
        probe_success(&exporter) == Some(0.0)
    });
    wait_polls(&exporter, 3.0);
    let page = exporter.get("/").text();
    // The poll succeeded, but the app is not shown as plainly up.
    assert!(
        page.contains("<td class=\"problem\">up, probe health failing</td>"),
        "{page}"
    );
    let note = "<td>probe</td><td colspan=\"8\" class=\"down\">health: failing, HTTP 503 in ";
    let at = page.find(note).unwrap_or_else(|| panic!("{page}"));
    let text = &page[at + note.len()..];
    let text = &text[..text.find("</td>").unwrap_or(text.len())];
    // `<duration> ms: <url>: <reason>`
    let (duration, reason) = text.split_once(" ms: ").unwrap_or_else(|| panic!("{text}"));
    assert!(duration.parse::<f64>().is_ok_and(|d| d > 0.0), "{text}");
    assert_eq!(reason, format!("{health}: unexpected status 503"));
    let logs = exporter.logs();
    assert_eq!(logs.matches("probe failing").count(), 1, "{logs}");
    let line = logs
        .lines()
        .find(|l| l.contains("probe failing"))
        .unwrap_or_default();
    assert!(
        line.contains("WARN")
            && line.contains("source=api")
            && line.contains("probe=health")
            && line.contains(&format!("error={health}: unexpected status 503")),
        "{line}"
    );

    app.set_health(200, common::test_app::DEFAULT_HEALTH);
    wait_until(Duration::from_secs(20), "the probe passed again", || {
        probe_success(&exporter) == Some(1.0)
    });
    wait_polls(&exporter, 3.0);
    let logs = exporter.logs();
    assert_eq!(logs.matches("probe failing").count(), 1, "{logs}");
    assert_eq!(logs.matches("probe recovered").count(), 1, "{logs}");
    let line = logs
        .lines()
        .find(|l| l.contains("probe recovered"))
        .unwrap_or_default();
    assert!(
        line.contains("WARN") && line.contains("probe=health") && line.contains("failed_for="),
        "{line}"
    );
    let page = exporter.get("/").text();
    assert!(page.contains("<td class=\"up\">up</td>"), "{page}");
}

#[test]
fn health_services_and_unanswered_pointers_are_shown_and_logged() {
    let app = TestApp::start();
    let all_up = r#"{"services":{"database":{"status":"up","latency":15},"cache":{"status":"up","latency":2}},"queue":{"depth":42}}"#;
    let cache_down = r#"{"services":{"database":{"status":"up","latency":15},"cache":{"status":"down","latency":250.5}},"queue":{"depth":42}}"#;
    app.set_health(200, all_up);
    let exporter = ExporterProcess::start(
        &format!(
            r#"apps:
  - name: api
    interval: 1s
    timeout: 1s
    probes:
      - url: '{}'
        name: health
        json_services: {{ pointer: /services }}
        json_values:
          - {{ pointer: /queue/depth, metric: app_queue_depth }}
          - {{ pointer: /queue/oldest, metric: app_queue_oldest_seconds }}
"#,
            app.url("/health")
        ),
        &[],
    );
    let service_up = |service: &str| {
        value(
            &samples(&metrics(&exporter)),
            "app_health_service_up",
            &[("probe", "health"), ("service", service)],
        )
    };
    wait_until(Duration::from_secs(20), "the services are read", || {
        service_up("cache") == Some(1.0)
    });
    wait_polls(&exporter, 2.0);
    let page = exporter.get("/").text();
    for row in [
        "<td>service</td><td colspan=\"8\">database: up, latency 15.0 ms (probe health)</td>",
        "<td>service</td><td colspan=\"8\">cache: up, latency 2.0 ms (probe health)</td>",
        // A configured value the body does not have: no series, but a problem note.
        "<td>json_values</td><td colspan=\"8\" class=\"down\">probe health: no value at `/queue/oldest` in the body, so app_queue_oldest_seconds is not exported</td>",
        "<td class=\"up\">up</td>",
    ] {
        assert!(page.contains(row), "{row}\n{page}");
    }
    let logs = exporter.logs();
    assert_eq!(
        logs.matches("probe body lacks a configured value").count(),
        1,
        "{logs}"
    );
    assert!(
        logs.contains("field=json_values problem=no value at `/queue/oldest` in the body, so app_queue_oldest_seconds is not exported"),
        "{logs}"
    );
    assert!(!logs.contains("health service"), "all up: {logs}");

    app.set_health(200, cache_down);
    wait_until(Duration::from_secs(20), "the cache is down", || {
        service_up("cache") == Some(0.0)
    });
    wait_polls(&exporter, 3.0);
    let page = exporter.get("/").text();
    for row in [
        "<td>service</td><td colspan=\"8\" class=\"down\">cache: down, latency 250.5 ms (probe health)</td>",
        "<td class=\"problem\">up, service cache down</td>",
    ] {
        assert!(page.contains(row), "{row}\n{page}");
    }
    let logs = exporter.logs();
    assert_eq!(logs.matches("health service down").count(), 1, "{logs}");
    assert!(
        logs.lines().any(|l| l.contains("WARN")
            && l.contains("health service down")
            && l.contains("service=cache")),
        "{logs}"
    );

    // The services object goes missing, and the depth stops being a number.
    app.set_health(200, r#"{"queue":{"depth":"n/a","oldest":3}}"#);
    wait_until(Duration::from_secs(20), "the services are gone", || {
        service_up("database").is_none()
    });
    wait_polls(&exporter, 2.0);
    let page = exporter.get("/").text();
    for row in [
        "<td>json_services</td><td colspan=\"8\" class=\"down\">probe health: no value at `/services` in the body, so no service is reported</td>",
        "<td>json_values</td><td colspan=\"8\" class=\"down\">probe health: the value at `/queue/depth` is a string, not a number, so app_queue_depth is not exported</td>",
    ] {
        assert!(page.contains(row), "{row}\n{page}");
    }
    assert!(!page.contains("/queue/oldest"), "{page}");
    let logs = exporter.logs();
    assert_eq!(
        logs.matches("probe body lacks a configured value").count(),
        3,
        "{logs}"
    );
    assert_eq!(
        logs.matches("probe body has the configured value again")
            .count(),
        1,
        "{logs}"
    );

    app.set_health(200, all_up);
    wait_until(Duration::from_secs(20), "the cache is back", || {
        service_up("cache") == Some(1.0)
    });
    wait_polls(&exporter, 2.0);
    let logs = exporter.logs();
    assert_eq!(logs.matches("health service down").count(), 1, "{logs}");
    assert_eq!(
        logs.matches("health service recovered").count(),
        1,
        "{logs}"
    );
    let page = exporter.get("/").text();
    assert!(page.contains("<td class=\"up\">up</td>"), "{page}");
}
