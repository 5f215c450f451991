//! App endpoints: the app's own Prometheus endpoints (`metrics_url`), re-exposed as they
//! are with our labels added, and health probes with blackbox_exporter's `probe_*` names.
//!
//! A failing probe is data (`probe_success 0`), not a failed poll: the exporter did its
//! job and the app is what is down. A failed scrape of a `metrics_url` fails the poll
//! (with its reason), as a failed scrape fails a Prometheus target: none of the app's
//! series are served rather than a part of them, and the probes' results of that same
//! poll are still published. Each probe's last result, the services of its health body
//! and the configured pointers the body did not answer are the source's notes and
//! `failing` phrases, and are logged once per change (`probe_state`).
//!
//! After a successful scrape, `signals` derives the app's golden signals
//! (`stack_request_duration_seconds`, `stack_requests_total`, …) from the scraped
//! families; what it used is kept as the source's notes for the status page.

mod probe;
mod probe_state;
mod scrape;
pub(crate) mod signals;

use std::time::{Duration, Instant};

use crate::config::{AppConfig, MetricsTarget, ProbeConfig, ScrapeLimits, SignalsConfig};
use crate::model::{labels, MetricFamily};
use crate::redact::Scrubber;
use crate::sources::{ErrorReason, PollError, Source, SourceKind, SourceNote};

use crate::http_client::HttpClient;
use probe::ProbeResult;
use probe_state::ProbeWatch;

pub struct AppSource {
    name: String,
    client: Result<HttpClient, String>,
    metrics: Vec<MetricsTarget>,
    limits: ScrapeLimits,
    probes: Vec<ProbeConfig>,
    timeout: Duration,
    scrubber: Scrubber,
    /// The probe families of the last poll if it failed on a scrape, published with the
    /// failure.
    probe_families_of_failed_poll: Option<Vec<MetricFamily>>,
    /// The probes' last results and states, for the status page and the log.
    probe_watch: ProbeWatch,
    signals: SignalsConfig,
    /// What the last successful scrape's signals were derived from; kept across a failed
    /// scrape, which derives nothing and says nothing new about the app's metrics.
    signal_notes: Vec<SourceNote>,
    /// Whether the last derived latency histogram resolves the threshold; kept across a
    /// failed scrape like the notes.
    threshold_resolved: Option<bool>,
}

impl AppSource {
    pub fn new(config: &AppConfig, scrubber: Scrubber) -> Self {
        AppSource {
            name: config.common.name.clone(),
            // A TLS file that became unreadable since validation fails every poll with
            // a clear message rather than the process.
            client: HttpClient::new(&config.tls, config.auth.as_ref(), config.max_redirects),
            metrics: config.metrics.clone(),
            limits: config.scrape,
            probes: config.probes.clone(),
            timeout: config.common.timeout,
            scrubber,
            probe_families_of_failed_poll: None,
            probe_watch: ProbeWatch::default(),
            signals: config.signals.clone(),
            signal_notes: Vec::new(),
            threshold_resolved: None,
        }
    }

    /// Each request gets slightly less than the poll's timeout, so that a hanging app
    /// yields its own error (or `probe_success 0` with a duration) rather than a
    /// cancelled poll.
    fn request_deadline(&self) -> Duration {
        crate::sources::inner_deadline(self.timeout)
    }
}

/// Derives the golden signals from one poll's scrapes (before the `target` label is
/// added: they are summed over every endpoint anyway) and logs what they come from
/// whenever that changes, at info, or at warn when something needs fixing; returns the
/// families and whether the latency threshold is resolved. A free function so that it
/// can borrow the source's fields apart from its targets.
fn derive_signals(
    source: &str,
    config: &SignalsConfig,
    notes: &mut Vec<SourceNote>,
    scraped: &[(&MetricsTarget, Vec<MetricFamily>)],
) -> (Vec<MetricFamily>, Option<bool>) {
    if scraped.is_empty() {
        return (Vec::new(), None);
    }
    let all: Vec<&MetricFamily> = scraped.iter().flat_map(|(_, f)| f.iter()).collect();
    let derived = signals::derive(&all, config);
    if derived.notes != *notes {
        let text = (derived.notes.iter())
            .map(|n| n.text.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        if derived.notes.iter().any(|n| n.problem) {
            tracing::warn!(source = %source, signals = %text, "golden signals");
        } else {
            tracing::info!(source = %source, signals = %text, "golden signals");
        }
        *notes = derived.notes;
    }
    (derived.families, derived.threshold_resolved)
}

impl Source for AppSource {
    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    async fn poll(&mut self, out: &mut Vec<MetricFamily>) -> Result<(), PollError> {
        self.probe_families_of_failed_poll = None;
        let client = match &self.client {
            Ok(c) => c,
            Err(e) => return Err(PollError::new(ErrorReason::Tls, e.clone())),
        };
        let deadline = self.request_deadline();
        let probes = futures_util::future::join_all(
            self.probes
                .iter()
                .map(|p| probe::run(client, p, deadline, &self.scrubber)),
        );
        let (limits, timeout) = (self.limits, self.timeout);
        let scrapes = futures_util::future::join_all(self.metrics.iter().map(|t| async move {
            match tokio::time::timeout(deadline, scrape::scrape(client, t, limits, timeout)).await {
                Ok(r) => r,
                Err(_) => Err(PollError::new(
                    ErrorReason::Timeout,
                    format!(
                        "{}: no complete response within {}",
                        t.display_url,
                        humantime::format_duration(deadline)
                    ),
                )),
            }
        }));
        let (probe_results, scrape_results) = futures_util::future::join(probes, scrapes).await;
        let probe_out = probe_families(self.probes.iter().zip(probe_results.iter()));
        // Before the scrapes are judged: a failed scrape does not make the probes'
        // results any less real.
        let changes = (self.probe_watch).observe(
            &self.probes,
            &probe_results,
            &self.scrubber,
            Instant::now(),
        );
        probe_state::log(&self.name, &changes);

        let mut scraped = Vec::new();
        for (target, result) in self.metrics.iter().zip(scrape_results) {
            match result {
                Ok(s) => {
                    if s.duplicates > 0 {
                        tracing::debug!(
                            url = %target.display_url,
                            duplicates = s.duplicates,
                            "scrape had repeated series; the first of each was kept"
                        );
                    }
                    scraped.push((target, s.families));
                }
                Err(e) => {
                    self.probe_families_of_failed_poll = Some(probe_out);
                    return Err(PollError::new(e.reason, self.scrubber.scrub(&e.message)));
                }
            }
        }
        let (derived, resolved) =
            derive_signals(&self.name, &self.signals, &mut self.signal_notes, &scraped);
        self.threshold_resolved = resolved;
        for (target, mut families) in scraped {
            if let Some(value) = &target.target_label {
                crate::model::prepend_labels(
                    &mut families,
                    &[("target".to_owned(), value.clone())],
                );
            }
            out.extend(families);
        }
        out.extend(derived);
        out.extend(probe_out);
        Ok(())
    }

    fn health_families(&self, error: &PollError) -> Vec<MetricFamily> {
        if error.reason != ErrorReason::Timeout {
            if let Some(families) = &self.probe_families_of_failed_poll {
                return families.clone();
            }
        }
        let failed = ProbeResult::failed(self.timeout);
        probe_families(self.probes.iter().map(|p| (p, &failed)))
    }

    fn reset(&mut self) {
        self.probe_families_of_failed_poll = None;
    }

    fn notes(&self) -> Vec<SourceNote> {
        let probes = self.probe_watch.notes();
        probes.chain(&self.signal_notes).cloned().collect()
    }

    fn failing(&self) -> Vec<String> {
        self.probe_watch.failing()
    }

    fn latency_threshold_resolved(&self) -> Option<bool> {
        self.threshold_resolved
    }
}

fn probe_families<'a>(
    results: impl Iterator<Item = (&'a ProbeConfig, &'a ProbeResult)>,
) -> Vec<MetricFamily> {
    let gauge = MetricFamily::gauge;
    let mut success = gauge(
        "probe_success",
        "Whether the probe succeeded (1) or not (0).",
    );
    let mut duration = gauge(
        "probe_duration_seconds",
        "How long the probe took to complete, in seconds.",
    );
    let mut status = gauge(
        "probe_http_status_code",
        "HTTP status code of the probe's response; 0 when there was none.",
    );
    let mut content_length = gauge(
        "probe_http_content_length",
        "Length of the response body as its Content-Length header gives it; -1 when absent.",
    );
    let mut body_length = gauge(
        "probe_http_uncompressed_body_length",
        "Length of the response body in bytes, as read.",
    );
    let mut redirects = gauge(
        "probe_http_redirects",
        "The number of redirects the probe followed.",
    );
    let mut ssl = gauge(
        "probe_http_ssl",
        "Whether TLS was used for the final request (1) or not (0).",
    );
    let mut phases = gauge(
        "probe_http_duration_seconds",
        "Duration of the probe's HTTP request by phase, summed over all redirects.",
    );
    let mut cert_expiry = gauge(
        "probe_ssl_earliest_cert_expiry",
        "Earliest expiry (Unix seconds) of the certificates the server sent.",
    );
    let mut regex = gauge(
        "probe_failed_due_to_regex",
        "Whether a body_regex or body_not_regex check failed the probe (1) or not (0).",
    );
    let mut json = gauge(
        "probe_failed_due_to_json",
        "Whether a JSON check failed the probe (1) or not (0).",
    );
    let mut service_up = gauge(
        "app_health_service_up",
        "Whether the app's health body reports this service as up (1) or not (0).",
    );
    let mut service_latency = gauge(
        "app_health_service_latency_seconds",
        "The latency the app's health body reports for this service, in seconds.",
    );
    let mut extracted: Vec<MetricFamily> = Vec::new();
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    for (probe, result) in results {
        let name = probe.name.as_str();
        let l = labels(&[("probe", name)]);
        success.push(l.clone(), flag(result.success));
        duration.push(l.clone(), result.duration.as_secs_f64());
        status.push(l.clone(), f64::from(result.status));
        content_length.push(l.clone(), result.content_length);
        body_length.push(l.clone(), result.body_length as f64);
        redirects.push(l.clone(), result.redirects as f64);
        if let Some(tls) = result.tls {
            ssl.push(l.clone(), flag(tls));
        }
        let p = &result.phases;
        for (phase, d) in [
            ("resolve", p.resolve),
            ("connect", p.connect),
            ("tls", p.tls),
            ("processing", p.processing),
            ("transfer", p.transfer),
        ] {
            phases.push(
                labels(&[("probe", name), ("phase", phase)]),
                d.as_secs_f64(),
            );
        }
        if let Some(t) = result.cert_expiry {
            cert_expiry.push(l.clone(), t as f64);
        }
        if let Some(f) = result.failed_due_to_regex {
            regex.push(l.clone(), flag(f));
        }
        if let Some(f) = result.failed_due_to_json {
            json.push(l.clone(), flag(f));
        }
        for (service, up, latency) in &result.services {
            let sl = labels(&[("probe", name), ("service", service)]);
            service_up.push(sl.clone(), flag(*up));
            if let Some(s) = latency {
                service_latency.push(sl, *s);
            }
        }
        for (metric, value) in &result.values {
            let family = match extracted.iter_mut().position(|f| f.name == *metric) {
                Some(i) => &mut extracted[i],
                None => {
                    let help = (probe.json_values.iter())
                        .find(|v| v.metric == *metric)
                        .map_or("", |v| v.help.as_str());
                    extracted.push(MetricFamily::gauge(metric.clone(), help));
                    let last = extracted.len() - 1;
                    &mut extracted[last]
                }
            };
            family.push(l.clone(), *value);
        }
    }
    let mut out = vec![
        success,
        duration,
        status,
        content_length,
        body_length,
        redirects,
        ssl,
        phases,
        cert_expiry,
        regex,
        json,
        service_up,
        service_latency,
    ];
    out.extend(extracted);
    out.retain(|f| !f.samples.is_empty());
    out
}
