//! One HTTP health probe.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderName, HeaderValue, USER_AGENT};
use hyper::{Method, Request};

use crate::config::ProbeConfig;
use crate::redact::Scrubber;

use super::HttpClient;

/// Health bodies are small; reading more would only cost memory.
const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    pub success: bool,
    /// 0 when no response arrived.
    pub status: u16,
    pub duration: Duration,
    /// Why the probe failed, already scrubbed of secrets.
    pub error: Option<String>,
}

impl ProbeResult {
    pub fn failed(duration: Duration) -> Self {
        ProbeResult {
            success: false,
            status: 0,
            duration,
            error: Some("probe did not finish".to_owned()),
        }
    }
}

pub(super) async fn run(
    client: &HttpClient,
    probe: &ProbeConfig,
    deadline: Duration,
    scrubber: &Scrubber,
) -> ProbeResult {
    let started = Instant::now();
    let outcome = tokio::time::timeout(deadline, exchange(client, probe)).await;
    let duration = started.elapsed();
    let (status, error) = match outcome {
        Ok(Ok(status)) => (status, None),
        Ok(Err((status, e))) => (status, Some(e)),
        Err(_) => (
            0,
            Some(format!(
                "no complete response within {}",
                humantime::format_duration(deadline)
            )),
        ),
    };
    let success = error.is_none() && status_ok(probe, status);
    let error = match error {
        Some(e) => Some(scrubber.scrub(&format!("{}: {e}", probe.display_url))),
        None if !success => Some(format!("{}: unexpected status {status}", probe.display_url)),
        None => None,
    };
    if let Some(e) = &error {
        tracing::debug!(probe = %probe.name, error = %e, "probe failed");
    }
    ProbeResult {
        success,
        status,
        duration,
        error,
    }
}

fn status_ok(probe: &ProbeConfig, status: u16) -> bool {
    if probe.expected_status.is_empty() {
        (200..300).contains(&status)
    } else {
        probe.expected_status.contains(&status)
    }
}

/// Sends the request and reads the body (bounded); the status, or the status seen so
/// far and an error.
async fn exchange(client: &HttpClient, probe: &ProbeConfig) -> Result<u16, (u16, String)> {
    let method = Method::from_bytes(probe.method.as_bytes())
        .map_err(|_| (0, format!("invalid method `{}`", probe.method)))?;
    let mut builder = Request::builder()
        .method(method)
        .uri(probe.url.expose())
        .header(
            USER_AGENT,
            concat!("stack_exporter/", env!("CARGO_PKG_VERSION")),
        );
    for (name, value) in &probe.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| (0, format!("invalid header name `{name}`")))?;
        let value = HeaderValue::from_str(value.expose())
            .map_err(|_| (0, format!("invalid value for header `{name}`")))?;
        builder = builder.header(name, value);
    }
    let request = builder
        .body(Full::new(Bytes::new()))
        .map_err(|e| (0, format!("invalid request: {e}")))?;
    let response = client
        .request(request)
        .await
        .map_err(|e| (0, crate::sources::error_chain(&e)))?;
    let status = response.status().as_u16();
    Limited::new(response.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| (status, format!("reading body: {e}")))?;
    Ok(status)
}
