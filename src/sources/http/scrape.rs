//! Scraping one of an app's own Prometheus endpoints, as a Prometheus server would.

use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use hyper::Method;

use crate::config::{MetricsTarget, ScrapeLimits};
use crate::exposition::parse::{self, ParseErrorKind, ParseLimits};
use crate::exposition::Format;
use crate::http_client::{HttpClient, Request};
use crate::model::MetricFamily;
use crate::sources::{ErrorReason, PollError};

/// What Prometheus 2.x sends: OpenMetrics preferred, classic text accepted, so an app
/// answers us exactly as it answers the server.
const ACCEPT_VALUE: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// Families of one successful scrape, plus what is worth counting.
#[derive(Debug)]
pub(super) struct Scraped {
    pub families: Vec<MetricFamily>,
    /// Repeated series dropped (the first is kept, as Prometheus does).
    pub duplicates: usize,
}

pub(super) async fn scrape(
    client: &HttpClient,
    target: &MetricsTarget,
    limits: ScrapeLimits,
    timeout: Duration,
) -> Result<Scraped, PollError> {
    let url = &target.display_url;
    let request = Request {
        method: Method::GET,
        url: target.url.expose(),
        headers: vec![
            (ACCEPT, HeaderValue::from_static(ACCEPT_VALUE)),
            (
                HeaderName::from_static("x-prometheus-scrape-timeout-seconds"),
                HeaderValue::from_str(&format!("{:.3}", timeout.as_secs_f64()))
                    .unwrap_or(HeaderValue::from_static("10")),
            ),
        ],
        body: None,
        max_body: limits.max_body_size,
        accept_gzip: true,
    };
    let response = client
        .fetch(&request)
        .await
        .map_err(|e| PollError::new(e.reason, format!("{url}: {}", e.message)))?;
    if !(200..300).contains(&response.status) {
        let reason = match response.status {
            401 | 403 => ErrorReason::Auth,
            _ => ErrorReason::HttpStatus,
        };
        return Err(PollError::new(
            reason,
            format!(
                "{url}: server returned HTTP status {}",
                status_text(response.status)
            ),
        ));
    }
    let content_type = response
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = parse::format_from_content_type(content_type);
    let parse_limits = ParseLimits {
        max_series: match limits.sample_limit {
            0 => usize::MAX,
            n => n,
        },
        ..ParseLimits::default()
    };
    match parse::parse_detailed(&response.body, format, &parse_limits) {
        Ok(parsed) => Ok(Scraped {
            families: parsed.families,
            duplicates: parsed.duplicates,
        }),
        Err(e) => {
            let (reason, what) = match e.kind {
                ParseErrorKind::SampleLimit => (
                    ErrorReason::SampleLimit,
                    format!(
                        "more than sample_limit ({}) series; the whole scrape is dropped, as Prometheus does",
                        limits.sample_limit
                    ),
                ),
                ParseErrorKind::Limit => (ErrorReason::Limit, e.to_string()),
                ParseErrorKind::Invalid => (ErrorReason::Protocol, e.to_string()),
            };
            Err(PollError::new(
                reason,
                format!(
                    "{url}: {what} (parsed as {}{})",
                    match format {
                        Format::Classic => "Prometheus text 0.0.4",
                        Format::OpenMetrics => "OpenMetrics",
                    },
                    content_type_note(content_type),
                ),
            ))
        }
    }
}

/// Names an unexpected `Content-Type`, the usual cause when an HTML error page or JSON
/// arrives where metrics were expected.
fn content_type_note(content_type: &str) -> String {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "text/plain" | "application/openmetrics-text" => String::new(),
        "" => "; the response had no Content-Type".to_owned(),
        other => format!("; the response's Content-Type was `{other}`, not a metrics format"),
    }
}

fn status_text(status: u16) -> String {
    match hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}
