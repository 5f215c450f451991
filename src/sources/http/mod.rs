//! App endpoints: health probes with blackbox_exporter's `probe_*` names.
//!
//! A failing probe is data (`probe_success 0`), not a failed poll: the exporter did its
//! job and the app is what is down. The poll fails only when it runs past its timeout.

mod probe;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

use crate::config::{AppConfig, ProbeConfig};
use crate::model::{labels, MetricFamily};
use crate::redact::Scrubber;
use crate::sources::{PollError, Source, SourceKind};

pub use probe::ProbeResult;

pub(crate) type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

pub struct AppSource {
    probes: Vec<ProbeConfig>,
    timeout: Duration,
    client: HttpClient,
    scrubber: Scrubber,
}

impl AppSource {
    pub fn new(config: &AppConfig, scrubber: Scrubber) -> Self {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.common.timeout));
        // The HTTPS connector wants to own the scheme check.
        http.enforce_http(false);
        // Public CAs built in (webpki-roots), as for PostgreSQL: no dependency on the
        // container having a CA bundle.
        let connector = HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            // Probes should see the app as a fresh client would, not reuse a connection
            // that hides accept-queue trouble.
            .pool_max_idle_per_host(0)
            .build(connector);
        AppSource {
            probes: config.probes.clone(),
            timeout: config.common.timeout,
            client,
            scrubber,
        }
    }

    /// Each probe gets slightly less than the poll's timeout, so that a hanging app yields
    /// `probe_success 0` with a duration rather than a cancelled poll.
    fn probe_deadline(&self) -> Duration {
        crate::sources::inner_deadline(self.timeout)
    }
}

impl Source for AppSource {
    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    async fn poll(&mut self, out: &mut Vec<MetricFamily>) -> Result<(), PollError> {
        let deadline = self.probe_deadline();
        let results = futures_util::future::join_all(
            self.probes
                .iter()
                .map(|p| probe::run(&self.client, p, deadline, &self.scrubber)),
        )
        .await;
        out.extend(probe_families(
            self.probes
                .iter()
                .zip(results.iter())
                .map(|(p, r)| (p.name.as_str(), r)),
        ));
        Ok(())
    }

    fn health_families(&self, _error: &PollError) -> Vec<MetricFamily> {
        let failed = ProbeResult::failed(self.timeout);
        probe_families(self.probes.iter().map(|p| (p.name.as_str(), &failed))).collect()
    }

    fn reset(&mut self) {}
}

fn probe_families<'a>(
    results: impl Iterator<Item = (&'a str, &'a ProbeResult)>,
) -> impl Iterator<Item = MetricFamily> {
    let mut success = MetricFamily::gauge(
        "probe_success",
        "Whether the probe succeeded (1) or not (0).",
    );
    let mut duration = MetricFamily::gauge(
        "probe_duration_seconds",
        "How long the probe took to complete, in seconds.",
    );
    let mut status = MetricFamily::gauge(
        "probe_http_status_code",
        "HTTP status code of the probe's response; 0 when there was none.",
    );
    for (name, result) in results {
        let l = labels(&[("probe", name)]);
        success.push(l.clone(), if result.success { 1.0 } else { 0.0 });
        duration.push(l.clone(), result.duration.as_secs_f64());
        status.push(l, f64::from(result.status));
    }
    [success, duration, status].into_iter()
}
