//! One remote-write request: POST of a snappy-compressed `WriteRequest` with the
//! protocol's headers, and what its answer means for the batch (sent, retry, drop).

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use hyper::Method;

use crate::config::RemoteWriteConfig;
use crate::http_client::{HttpClient, Request};
use crate::redact::Scrubber;

/// A receiver's error text is kept for the log up to this many bytes.
const MAX_ERROR_BODY: u64 = 64 * 1024;
const LOGGED_ERROR_CHARS: usize = 256;
/// A `Retry-After` longer than this is taken as this: a receiver's typo must not park
/// an endpoint for a day while its queue drops everything.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Sent,
    /// 5xx, 429 or a network failure; `after` is the receiver's `Retry-After`.
    Retry {
        after: Option<Duration>,
        why: String,
    },
    /// Any other answer: retrying the same data would fail the same way.
    Reject {
        why: String,
    },
}

pub struct Sender {
    client: HttpClient,
    url: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    timeout: Duration,
    scrubber: Scrubber,
}

impl Sender {
    pub fn new(config: &RemoteWriteConfig, scrubber: Scrubber) -> Result<Sender, String> {
        // Redirects are not followed: a POST turned into a GET by a 301/302 would lose
        // the body, and a receiver's URL is configured once, so a 3xx is reported.
        let client = HttpClient::new(&config.tls, config.auth.as_ref(), 0)?;
        let mut headers = vec![
            (CONTENT_ENCODING, HeaderValue::from_static("snappy")),
            (
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-protobuf"),
            ),
            (
                HeaderName::from_static("x-prometheus-remote-write-version"),
                HeaderValue::from_static("0.1.0"),
            ),
        ];
        for (name, value) in &config.headers {
            // Validation accepted both; a failure here would leave the header out, which
            // the receiver then reports (e.g. a missing tenant), rather than panic.
            let (Ok(name), Ok(mut value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value.expose()),
            ) else {
                continue;
            };
            value.set_sensitive(true);
            headers.push((name, value));
        }
        Ok(Sender {
            client,
            url: config.url.expose().to_owned(),
            headers,
            timeout: config.timeout,
            scrubber,
        })
    }

    /// Sends one compressed body; returns the verdict and how long the attempt took.
    pub async fn send(&self, body: Bytes) -> (Verdict, Duration) {
        let started = Instant::now();
        let request = Request {
            method: Method::POST,
            url: &self.url,
            headers: self.headers.clone(),
            body: Some(body),
            max_body: MAX_ERROR_BODY,
            accept_gzip: false,
        };
        let verdict = match tokio::time::timeout(self.timeout, self.client.fetch(&request)).await {
            Err(_) => Verdict::Retry {
                after: None,
                why: format!(
                    "no answer within the timeout of {}",
                    humantime::format_duration(self.timeout)
                ),
            },
            Ok(Ok(response)) => {
                let after = retry_after(&response.headers, SystemTime::now());
                self.judge(response.status, after, &response.body)
            }
            // An answer whose body failed to arrive whole still has a status to go by.
            Ok(Err(e)) if e.status != 0 => self.judge(e.status, None, e.message.as_bytes()),
            Ok(Err(e)) => Verdict::Retry {
                after: None,
                why: self.scrubber.scrub(&e.message),
            },
        };
        (verdict, started.elapsed())
    }

    fn judge(&self, status: u16, after: Option<Duration>, body: &[u8]) -> Verdict {
        if (200..300).contains(&status) {
            return Verdict::Sent;
        }
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        let short: String = text.chars().take(LOGGED_ERROR_CHARS).collect();
        let why = self.scrubber.scrub(&if short.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {short}")
        });
        if status == 429 || (500..600).contains(&status) {
            Verdict::Retry { after, why }
        } else {
            Verdict::Reject { why }
        }
    }
}

/// `Retry-After` as seconds or an HTTP date, capped at `MAX_RETRY_AFTER`.
pub fn retry_after(headers: &hyper::HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match text.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => httpdate::parse_http_date(text)
            .ok()?
            .duration_since(now)
            .unwrap_or(Duration::ZERO),
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = hyper::HeaderMap::new();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(retry_after(&h, now), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(3)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("999999"));
        assert_eq!(retry_after(&h, now), Some(MAX_RETRY_AFTER));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(20));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(20)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(20));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&earlier).unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }
}
