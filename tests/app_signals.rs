//! Golden signals (`apps[].signals`, src/sources/http/signals.rs) end to end: the real
//! test app serves what a Node (prom-client) app and a Go (client_golang) app expose,
//! and the exporter's `/metrics` must hold exactly the derived series, valid for
//! promtool; the status page and the log say what they were derived from.

mod common;

use std::time::Duration;

use common::test_app::TestApp;
use common::{
    metrics, once, once_ok, promtool_findings, samples, value, wait_until, ExporterProcess,
};

const CLASSIC: &str = "text/plain; version=0.0.4; charset=utf-8";

/// prom-client's text output: a millisecond histogram under an app prefix, a request
/// counter with a `status` label, queue gauges.
const NODE_APP: &str = r#"# HELP synckairos_http_request_duration_ms Duration of HTTP requests in ms
# TYPE synckairos_http_request_duration_ms histogram
synckairos_http_request_duration_ms_bucket{le="5",method="GET",route="/sessions",status="200"} 6
synckairos_http_request_duration_ms_bucket{le="50",method="GET",route="/sessions",status="200"} 9
synckairos_http_request_duration_ms_bucket{le="500",method="GET",route="/sessions",status="200"} 10
synckairos_http_request_duration_ms_bucket{le="+Inf",method="GET",route="/sessions",status="200"} 10
synckairos_http_request_duration_ms_sum{method="GET",route="/sessions",status="200"} 250
synckairos_http_request_duration_ms_count{method="GET",route="/sessions",status="200"} 10
synckairos_http_request_duration_ms_bucket{le="5",method="POST",route="/sessions",status="503"} 0
synckairos_http_request_duration_ms_bucket{le="50",method="POST",route="/sessions",status="503"} 0
synckairos_http_request_duration_ms_bucket{le="500",method="POST",route="/sessions",status="503"} 1
synckairos_http_request_duration_ms_bucket{le="+Inf",method="POST",route="/sessions",status="503"} 2
synckairos_http_request_duration_ms_sum{method="POST",route="/sessions",status="503"} 1750
synckairos_http_request_duration_ms_count{method="POST",route="/sessions",status="503"} 2
# HELP http_requests_total Total HTTP requests
# TYPE http_requests_total counter
http_requests_total{method="GET",route="/sessions",status="200"} 10
http_requests_total{method="GET",route="/missing",status="404"} 3
http_requests_total{method="POST",route="/sessions",status="503"} 2
# HELP synckairos_jobs_waiting Jobs waiting per queue
# TYPE synckairos_jobs_waiting gauge
synckairos_jobs_waiting{queue="sessions"} 4
synckairos_jobs_waiting{queue="reminders"} 1
# HELP synckairos_email_backlog Emails not sent yet
# TYPE synckairos_email_backlog gauge
synckairos_email_backlog 12
"#;

/// client_golang with promhttp's instrumentation: seconds, `code` label.
const GO_APP: &str = r#"# HELP http_request_duration_seconds A histogram of latencies for requests.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{handler="/api",method="get",le="0.05"} 20
http_request_duration_seconds_bucket{handler="/api",method="get",le="0.5"} 24
http_request_duration_seconds_bucket{handler="/api",method="get",le="+Inf"} 25
http_request_duration_seconds_sum{handler="/api",method="get"} 3.5
http_request_duration_seconds_count{handler="/api",method="get"} 25
# HELP http_requests_total A counter for requests to the wrapped handler.
# TYPE http_requests_total counter
http_requests_total{code="200",method="get"} 22
http_requests_total{code="500",method="get"} 3
"#;

const NODE_SIGNALS: &str = "    signals:
      latency: { histogram: synckairos_http_request_duration_ms, unit: ms }
      requests: { counter: http_requests_total, status_label: status, errors: '5..' }
      queues:
        - { gauge: synckairos_jobs_waiting, queue_label: queue }
        - { gauge: synckairos_email_backlog, queue: emails }
";

fn app_config(name: &str, metrics_url: &str, extra: &str) -> String {
    format!(
        "apps:\n  - name: {name}\n    interval: 1s\n    timeout: 1s\n    labels: {{ team: core }}\n    metrics_url: {metrics_url}\n{extra}"
    )
}

fn serve(body: &str) -> TestApp {
    let app = TestApp::start();
    app.set_route("/metrics", 200, CLASSIC, body.as_bytes());
    app
}

/// The derived sample lines of a classic body, as written.
fn derived(body: &str) -> Vec<&str> {
    body.lines()
        .filter(|l| {
            [
                "stack_request",
                "stack_queue_depth",
                "stack_slow",
                "stack_exporter_latency",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .collect()
}

/// promtool must parse the body, and find nothing to say about the derived families.
fn assert_promtool_clean(body: &str) {
    let ours: Vec<String> = promtool_findings(body)
        .into_iter()
        .filter(|f| f.contains("stack_request") || f.contains("stack_queue"))
        .collect();
    assert!(ours.is_empty(), "promtool: {ours:?}\n{body}");
}

#[test]
fn node_style_app_with_a_signals_block() {
    let app = serve(NODE_APP);
    let out = once_ok(&app_config("web", &app.url("/metrics"), NODE_SIGNALS));
    assert_eq!(
        derived(&out),
        [
            r#"stack_queue_depth{source="web",team="core",queue="emails",state="waiting",library="app"} 12"#,
            r#"stack_queue_depth{source="web",team="core",queue="reminders",state="waiting",library="app"} 1"#,
            r#"stack_queue_depth{source="web",team="core",queue="sessions",state="waiting",library="app"} 4"#,
            r#"stack_request_duration_seconds_bucket{source="web",team="core",le="0.005"} 6"#,
            r#"stack_request_duration_seconds_bucket{source="web",team="core",le="0.05"} 9"#,
            r#"stack_request_duration_seconds_bucket{source="web",team="core",le="0.5"} 11"#,
            r#"stack_request_duration_seconds_bucket{source="web",team="core",le="+Inf"} 12"#,
            r#"stack_request_duration_seconds_sum{source="web",team="core"} 2"#,
            r#"stack_request_duration_seconds_count{source="web",team="core"} 12"#,
            r#"stack_request_errors_total{source="web",team="core"} 2"#,
            r#"stack_request_latency_threshold_seconds{source="web",team="core"} 0.05"#,
            r#"stack_requests_total{source="web",team="core",code_class="2xx"} 10"#,
            r#"stack_requests_total{source="web",team="core",code_class="4xx"} 3"#,
            r#"stack_requests_total{source="web",team="core",code_class="5xx"} 2"#,
            r#"stack_slow_request_bound_seconds{source="web",team="core"} 0.05"#,
            r#"stack_slow_requests_total{source="web",team="core"} 3"#,
        ],
        "{out}"
    );
    for header in [
        "# TYPE stack_request_duration_seconds histogram",
        "# TYPE stack_requests_total counter",
        "# TYPE stack_request_errors_total counter",
        "# TYPE stack_queue_depth gauge",
    ] {
        assert!(out.contains(header), "{header}: {out}");
    }
    // The app's own series are served as always.
    let s = samples(&out);
    assert_eq!(
        value(
            &s,
            "synckairos_http_request_duration_ms_count",
            &[("source", "web"), ("status", "503")]
        ),
        Some(2.0)
    );
    assert_promtool_clean(&out);
}

#[test]
fn go_style_app_is_detected_and_shown_on_the_status_page() {
    let app = serve(GO_APP);
    let yaml = app_config("api", &app.url("/metrics"), "");
    let (code, out, err) = once(&yaml);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        derived(&out),
        [
            r#"stack_request_duration_seconds_bucket{source="api",team="core",le="0.05"} 20"#,
            r#"stack_request_duration_seconds_bucket{source="api",team="core",le="0.5"} 24"#,
            r#"stack_request_duration_seconds_bucket{source="api",team="core",le="+Inf"} 25"#,
            r#"stack_request_duration_seconds_sum{source="api",team="core"} 3.5"#,
            r#"stack_request_duration_seconds_count{source="api",team="core"} 25"#,
            r#"stack_request_errors_total{source="api",team="core"} 3"#,
            r#"stack_request_latency_threshold_seconds{source="api",team="core"} 0.05"#,
            r#"stack_requests_total{source="api",team="core",code_class="2xx"} 22"#,
            r#"stack_requests_total{source="api",team="core",code_class="5xx"} 3"#,
            r#"stack_slow_request_bound_seconds{source="api",team="core"} 0.05"#,
            r#"stack_slow_requests_total{source="api",team="core"} 5"#,
        ],
        "{out}"
    );
    assert!(
        err.contains("golden signals")
            && err.contains("http_request_duration_seconds (s, detected); a bucket at the 50ms threshold counts slow requests"),
        "{err}"
    );
    assert_promtool_clean(&out);

    let exporter = ExporterProcess::start(&yaml, &[]);
    wait_until(Duration::from_secs(20), "three polls", || {
        let s = samples(&metrics(&exporter));
        value(
            &s,
            "stack_exporter_source_polls_total",
            &[("source", "api")],
        )
        .unwrap_or(0.0)
            >= 3.0
    });
    // The self-metric says the histogram resolves the 50 ms threshold.
    let s = samples(&metrics(&exporter));
    assert_eq!(
        value(
            &s,
            "stack_exporter_latency_threshold_resolved",
            &[("source", "api"), ("kind", "app")]
        ),
        Some(1.0)
    );
    let page = exporter.get("/").text();
    for line in [
        "latency: http_request_duration_seconds (s, detected); a bucket at the 50ms threshold counts slow requests</td>",
        // promhttp's counter has no handler label here: the page says our scrapes may
        // be counted.
        "requests: http_requests_total (detected), by code; errors: code matching 5..; no route label (handler, route, path, http_route, …), so the exporter&#39;s own requests to /metrics are in it if the app counts them",
    ] {
        assert!(page.contains(line), "{line}: {page}");
    }
    // Logged once, not on every poll.
    let logs = exporter.logs();
    assert_eq!(logs.matches("golden signals").count(), 1, "{logs}");
    // OpenMetrics gives the histogram its unit.
    let om = exporter.get_with(
        "/metrics",
        &[("Accept", "application/openmetrics-text;version=1.0.0")],
    );
    assert!(
        om.text()
            .contains("# UNIT stack_request_duration_seconds seconds"),
        "{}",
        om.text()
    );
}

#[test]
fn several_metrics_urls_are_summed_into_one_series() {
    let a = serve(GO_APP);
    let b = serve(GO_APP);
    let out = once_ok(&format!(
        "apps:\n  - name: api\n    metrics_url: [ '{}', '{}' ]\n",
        a.url("/metrics"),
        b.url("/metrics")
    ));
    let lines = derived(&out);
    assert!(
        lines.contains(&r#"stack_requests_total{source="api",code_class="2xx"} 44"#),
        "{out}"
    );
    assert!(
        lines.contains(&r#"stack_request_duration_seconds_bucket{source="api",le="+Inf"} 50"#),
        "{out}"
    );
    assert!(lines.iter().all(|l| !l.contains("target=")), "{out}");
}

#[test]
fn a_missing_configured_family_is_a_note_not_a_failed_poll() {
    let app = serve(GO_APP);
    let yaml = app_config(
        "api",
        &app.url("/metrics"),
        "    signals:\n      latency: { histogram: checkout_latency_seconds }\n      requests: { counter: http_requests }\n      detect: false\n",
    );
    let (code, out, err) = once(&yaml);
    assert_eq!(code, 0, "{err}");
    // Requests still derived (counter given without `_total`), latency not.
    assert_eq!(
        derived(&out),
        [
            r#"stack_request_errors_total{source="api",team="core"} 3"#,
            r#"stack_requests_total{source="api",team="core",code_class="2xx"} 22"#,
            r#"stack_requests_total{source="api",team="core",code_class="5xx"} 3"#,
        ],
        "{out}"
    );
    assert!(
        err.contains("WARN")
            && err.contains("latency: checkout_latency_seconds is not in the scrape"),
        "{err}"
    );

    let exporter = ExporterProcess::start(&yaml, &[]);
    wait_until(Duration::from_secs(20), "a poll", || {
        let s = samples(&metrics(&exporter));
        value(&s, "stack_exporter_source_up", &[("source", "api")]) == Some(1.0)
    });
    let page = exporter.get("/").text();
    assert!(
        page.contains(
            "<td colspan=\"8\" class=\"down\">latency: checkout_latency_seconds is not in the scrape</td>"
        ),
        "{page}"
    );
}

#[test]
fn an_app_that_exposes_our_names_keeps_its_own() {
    let body = format!(
        "{GO_APP}# HELP stack_request_duration_seconds The app's own.\n\
         # TYPE stack_request_duration_seconds histogram\n\
         stack_request_duration_seconds_bucket{{le=\"1\"}} 7\n\
         stack_request_duration_seconds_bucket{{le=\"+Inf\"}} 8\n\
         stack_request_duration_seconds_sum 4\n\
         stack_request_duration_seconds_count 8\n"
    );
    let app = serve(&body);
    let out = once_ok(&format!(
        "apps:\n  - name: api\n    metrics_url: {}\n",
        app.url("/metrics")
    ));
    let lines = derived(&out);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("stack_request_duration_seconds"))
            .copied()
            .collect::<Vec<_>>(),
        [
            r#"stack_request_duration_seconds_bucket{source="api",le="1"} 7"#,
            r#"stack_request_duration_seconds_bucket{source="api",le="+Inf"} 8"#,
            r#"stack_request_duration_seconds_sum{source="api"} 4"#,
            r#"stack_request_duration_seconds_count{source="api"} 8"#,
        ],
        "the app's histogram, not ours: {out}"
    );
    assert!(out.contains("# HELP stack_request_duration_seconds The app's own."));
    // The other signals are still derived.
    assert!(
        lines.contains(&r#"stack_requests_total{source="api",code_class="2xx"} 22"#),
        "{out}"
    );
    assert_promtool_clean(&out);
}

#[test]
fn signals_config_errors_are_located() {
    let app = serve(GO_APP);
    let (code, _, err) = once(&app_config(
        "api",
        &app.url("/metrics"),
        "    signals:\n      latency: { histogram: http_request_duration_seconds, unit: minutes }\n      requests: { errors: '5[0-9' }\n",
    ));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("apps[0].signals.latency.unit: unknown unit `minutes` at ")
            && err.contains("config.yml:8:")
            && err.contains("; expected s, ms or us"),
        "{err}"
    );
    assert!(
        err.contains("apps[0].signals.requests.errors: invalid regular expression")
            && err.contains("config.yml:9:"),
        "{err}"
    );
    let (code, _, err) = once(&app_config(
        "api",
        &app.url("/metrics"),
        "    signals:\n      typo: true\n",
    ));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unknown field `typo`"), "{err}");
}
