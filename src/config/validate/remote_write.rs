//! Validation of `remote_write[]`: URL, name, auth, headers, TLS, timing, queue sizes
//! and external labels (with the `job` / `instance` defaults).

use std::collections::BTreeMap;
use std::time::Duration;

use url::Url;

use super::super::schema::{Count, Dur, Flag, RawRemoteWrite, Text};
use super::super::{
    ClientTls, RemoteWriteConfig, Secret, DEFAULT_MAX_BACKOFF, DEFAULT_MAX_SAMPLES_PER_REQUEST,
    DEFAULT_MIN_BACKOFF, DEFAULT_QUEUE_CAPACITY, DEFAULT_REMOTE_WRITE_JOB,
    DEFAULT_REMOTE_WRITE_TIMEOUT,
};
use super::app::http_url;
use super::{fmt_duration, is_valid_source_name, Builder, FieldPath, MIN_INTERVAL};
use crate::redact::redact_url;

/// Headers the exporter sets itself (the protocol's, the body's framing, auth through
/// `basic_auth` / `bearer_token`); Prometheus refuses the same list.
const RESERVED_HEADERS: [&str; 14] = [
    "authorization",
    "host",
    "content-encoding",
    "content-type",
    "content-length",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "x-prometheus-remote-write-version",
];
/// One request body holds at most this many samples (~100 MB of protobuf before
/// compression): receivers refuse far smaller bodies anyway.
const MAX_SAMPLES_PER_REQUEST_CEILING: u64 = 1_000_000;

impl Builder {
    pub(super) fn remote_writes(
        &mut self,
        raw: Option<Vec<RawRemoteWrite>>,
        p: &FieldPath,
    ) -> Vec<RemoteWriteConfig> {
        let mut out: Vec<RemoteWriteConfig> = Vec::new();
        for (i, raw) in raw.unwrap_or_default().into_iter().enumerate() {
            let at = p.index(i);
            let name_given = raw.name.is_some();
            let remote = self.remote_write(raw, &at);
            if !remote.name.is_empty() && out.iter().any(|r| r.name == remote.name) {
                let message = if name_given {
                    format!("duplicate remote_write name `{}`", remote.name)
                } else {
                    format!(
                        "two remote_write endpoints on `{}`; give each a distinct `name`",
                        remote.name
                    )
                };
                self.issue(at.key(if name_given { "name" } else { "url" }), message);
            }
            out.push(remote);
        }
        out
    }

    fn remote_write(&mut self, raw: RawRemoteWrite, p: &FieldPath) -> RemoteWriteConfig {
        let url = match remote_write_url(&raw.url.0) {
            Ok(u) => u,
            Err(m) => {
                self.issue(p.key("url"), m);
                String::new()
            }
        };
        let display_url = redact_url(&url);
        let name = match raw.name {
            Some(Text(n)) => {
                if !is_valid_source_name(&n) {
                    self.issue(
                        p.key("name"),
                        format!("invalid remote_write name `{n}`; use 1 to 64 characters from A-Z a-z 0-9 _ . : -"),
                    );
                }
                n
            }
            // host:port tells endpoints apart in the common case of one per receiver.
            None => Url::parse(&url)
                .ok()
                .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
                .unwrap_or_default(),
        };
        let auth = self.http_auth(raw.basic_auth, raw.bearer_token, raw.bearer_token_file, p);
        let headers = self.headers(raw.headers.unwrap_or_default(), &p.key("headers"));
        for (header, _) in &headers {
            if RESERVED_HEADERS.contains(&header.to_ascii_lowercase().as_str()) {
                self.issue(
                    p.key("headers").key(header),
                    format!("header `{header}` is set by the exporter (use basic_auth or bearer_token for credentials)"),
                );
            }
        }
        let tls = match raw.tls {
            Some(t) => self.client_tls(t, &p.key("tls")),
            None => ClientTls::default(),
        };
        let interval = match raw.interval {
            Some(Dur(d)) if d < MIN_INTERVAL => {
                self.issue(
                    p.key("interval"),
                    format!(
                        "interval {} is too short; the minimum is 1s (leave it out to push after every poll)",
                        fmt_duration(d)
                    ),
                );
                None
            }
            other => other.map(|d| d.0),
        };
        let timeout = self.positive(raw.timeout, DEFAULT_REMOTE_WRITE_TIMEOUT, p, "timeout");
        let min_backoff = self.positive(raw.min_backoff, DEFAULT_MIN_BACKOFF, p, "min_backoff");
        let max_backoff = self.positive(raw.max_backoff, DEFAULT_MAX_BACKOFF, p, "max_backoff");
        if max_backoff < min_backoff {
            let at = if raw.max_backoff.is_some() {
                "max_backoff"
            } else {
                "min_backoff"
            };
            self.issue(
                p.key(at),
                format!(
                    "max_backoff {} is shorter than min_backoff {}",
                    fmt_duration(max_backoff),
                    fmt_duration(min_backoff)
                ),
            );
        }
        let max_samples = match raw.max_samples_per_request {
            None => DEFAULT_MAX_SAMPLES_PER_REQUEST,
            Some(Count(n)) if (1..=MAX_SAMPLES_PER_REQUEST_CEILING).contains(&n) => n as usize,
            Some(Count(n)) => {
                self.issue(
                    p.key("max_samples_per_request"),
                    format!("max_samples_per_request {n} is out of range; expected 1 to {MAX_SAMPLES_PER_REQUEST_CEILING}"),
                );
                DEFAULT_MAX_SAMPLES_PER_REQUEST
            }
        };
        let queue_capacity = match raw.queue_capacity {
            None => DEFAULT_QUEUE_CAPACITY.max(max_samples),
            Some(Count(n)) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if n < max_samples {
                    self.issue(
                        p.key("queue_capacity"),
                        format!("queue_capacity {n} is smaller than max_samples_per_request {max_samples}; the queue must hold at least one request"),
                    );
                }
                n
            }
        };
        let external_labels = self.external_labels(raw.external_labels, &p.key("external_labels"));
        RemoteWriteConfig {
            name,
            url: Secret::new(url),
            display_url,
            auth,
            headers,
            tls,
            interval,
            timeout,
            external_labels,
            max_samples_per_request: max_samples,
            queue_capacity,
            min_backoff,
            max_backoff,
            self_metrics: raw.self_metrics.is_none_or(|Flag(b)| b),
        }
    }

    fn positive(
        &mut self,
        raw: Option<Dur>,
        default: Duration,
        p: &FieldPath,
        key: &str,
    ) -> Duration {
        match raw {
            None => default,
            Some(Dur(d)) if d.is_zero() => {
                self.issue(p.key(key), format!("{key} must be greater than 0"));
                default
            }
            Some(Dur(d)) => d,
        }
    }

    /// The configured labels with `job` and `instance` filled in when absent; a label
    /// configured as empty is removed (an empty value means no label in Prometheus).
    fn external_labels(
        &mut self,
        raw: Option<BTreeMap<String, Text>>,
        p: &FieldPath,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut given = Vec::new();
        for (name, Text(value)) in raw.unwrap_or_default() {
            let problem = match name.as_str() {
                "source" => Some("label `source` is reserved: every source's series carry it".to_owned()),
                _ if !crate::model::is_valid_label_name(&name) => Some(format!(
                    "invalid label name `{name}`; label names match [a-zA-Z_][a-zA-Z0-9_]* and must not start with __"
                )),
                _ => None,
            };
            match problem {
                Some(m) => self.issue(p.key(&name), m),
                None => {
                    given.push(name.clone());
                    out.insert(name, value);
                }
            }
        }
        if !given.iter().any(|n| n == "job") {
            out.insert("job".to_owned(), DEFAULT_REMOTE_WRITE_JOB.to_owned());
        }
        if !given.iter().any(|n| n == "instance") {
            if let Some(host) = hostname() {
                out.insert("instance".to_owned(), host);
            }
        }
        out.retain(|_, v| !v.is_empty());
        out
    }
}

/// An http(s) URL without credentials in it: they would be sent nowhere (Go's client
/// would turn them into basic auth; we ask for `basic_auth` instead, which can come from
/// a file).
fn remote_write_url(raw: &str) -> Result<String, String> {
    let url = http_url(
        raw,
        "remote_write URL",
        "https://prometheus.example/api/v1/write",
    )?;
    let parsed = Url::parse(&url).map_err(|e| format!("invalid remote_write URL: {e}"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "remote_write URL `{}` carries credentials; put them in basic_auth (password_file keeps them out of the config)",
            redact_url(raw)
        ));
    }
    Ok(url)
}

/// The machine's host name, the `instance` a scrape of this host would most likely
/// show; `None` where the system has none to give.
pub(crate) fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = std::str::from_utf8(&buf[..end]).ok()?.trim();
    (!name.is_empty()).then(|| name.to_owned())
}
