//! Sources: one module per backend kind. A source knows how to poll its backend and turn
//! the answer into metric families; everything else (intervals, timeouts, backoff, labels,
//! self-metrics, publishing) is the scheduler's job, so every kind behaves the same way.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::model::MetricFamily;

pub mod http;
pub mod pgbouncer;
pub mod postgres;
pub mod redis;
pub(crate) mod sql_columns;

/// Queue depths, from Redis job-library presets (`redis/queues.rs`, `library` the job
/// library) and from apps' own gauges (`http/signals.rs`, `library="app"`): one family
/// and label set, so that one dashboard query covers both.
pub(crate) const QUEUE_DEPTH: &str = "stack_queue_depth";
pub(crate) const QUEUE_DEPTH_HELP: &str =
    "Jobs in the queue by state: from a job library's Redis keys, or from the app's own gauge (library=\"app\").";

/// The kind of backend, as shown in the `kind` label of self-metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKind {
    Postgres,
    PgBouncer,
    Redis,
    App,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Postgres => "postgres",
            SourceKind::PgBouncer => "pgbouncer",
            SourceKind::Redis => "redis",
            SourceKind::App => "app",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a poll failed. A small fixed set, used as the `reason` label: error text never
/// becomes a label value (it would be unbounded and could carry secrets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorReason {
    /// TCP connect, DNS, connection reset.
    Connect,
    /// The backend refused our credentials.
    Auth,
    /// TLS handshake or certificate failure.
    Tls,
    /// The poll did not finish within the source's timeout.
    Timeout,
    /// The backend answered with an error to a query or command.
    Query,
    /// The backend answered something we could not understand.
    Protocol,
    /// An HTTP endpoint answered with a non-success status.
    HttpStatus,
    /// A configured limit (body size, line length, redirects) was exceeded.
    Limit,
    /// A scraped endpoint exposed more series than its `sample_limit`.
    SampleLimit,
}

impl ErrorReason {
    pub const ALL: [ErrorReason; 9] = [
        ErrorReason::Connect,
        ErrorReason::Auth,
        ErrorReason::Tls,
        ErrorReason::Timeout,
        ErrorReason::Query,
        ErrorReason::Protocol,
        ErrorReason::HttpStatus,
        ErrorReason::Limit,
        ErrorReason::SampleLimit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorReason::Connect => "connect",
            ErrorReason::Auth => "auth",
            ErrorReason::Tls => "tls",
            ErrorReason::Timeout => "timeout",
            ErrorReason::Query => "query",
            ErrorReason::Protocol => "protocol",
            ErrorReason::HttpStatus => "http_status",
            ErrorReason::Limit => "limit",
            ErrorReason::SampleLimit => "sample_limit",
        }
    }
}

/// A failed poll. `message` must already be free of secrets: sources build it from
/// redacted URLs and pass driver errors through `crate::redact`.
#[derive(Debug, Clone, PartialEq)]
pub struct PollError {
    pub reason: ErrorReason,
    pub message: String,
}

impl PollError {
    pub fn new(reason: ErrorReason, message: impl Into<String>) -> Self {
        PollError {
            reason,
            message: message.into(),
        }
    }
}

impl fmt::Display for PollError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason.as_str(), self.message)
    }
}

/// A line shown on the status page under a source's row: what its polls found or
/// assumed, as opposed to whether they failed (e.g. which of an app's metrics its
/// golden signals are derived from). Text only: notes never become labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceNote {
    /// What the note is about, e.g. `signals`.
    pub topic: &'static str,
    /// Already free of secrets.
    pub text: String,
    /// Something the user should look at (a configured metric missing, say).
    pub problem: bool,
}

/// A backend the scheduler polls.
///
/// Invariants the scheduler relies on:
/// - `poll` may be cancelled at any await point (timeout, shutdown); `reset` is then called
///   before the next poll so that a connection left mid-query is not reused.
/// - `poll` returns `Err` only when the source as a whole could not be collected; a part
///   that failed on its own (one collector, one probe) is reported as data.
pub trait Source: Send + 'static {
    fn kind(&self) -> SourceKind;

    /// Polls the backend once and appends the resulting families to `out`.
    fn poll(
        &mut self,
        out: &mut Vec<MetricFamily>,
    ) -> impl Future<Output = Result<(), PollError>> + Send;

    /// The families published instead of the poll's when it failed, e.g. `pg_up 0`.
    fn health_families(&self, error: &PollError) -> Vec<MetricFamily>;

    /// Drops connection state after a cancelled poll.
    fn reset(&mut self);

    /// Notes for the status page, read after every poll. Most sources have none.
    fn notes(&self) -> Vec<SourceNote> {
        Vec::new()
    }

    /// What is failing although the poll succeeded, as short phrases (`probe health
    /// failing`, `service cache down`), read after every poll: the status page shows
    /// them beside the state, so that an app answering its scrapes while its health
    /// probe fails does not read plainly "up".
    fn failing(&self) -> Vec<String> {
        Vec::new()
    }

    /// For an app whose golden signals count slow requests: whether its latency
    /// histogram has a bucket at the latency threshold (`Some(false)`: slow requests
    /// are counted above a higher bound, or not at all). The self-metric
    /// `stack_exporter_latency_threshold_resolved` reports it.
    fn latency_threshold_resolved(&self) -> Option<bool> {
        None
    }

    /// Closes connections cleanly before the source is dropped (shutdown, reload).
    fn close(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// `<name>`: whether the last poll could connect to and query the backend, the health
/// metric postgres_exporter (`pg_up`) and redis_exporter (`redis_up`) users alert on.
pub(crate) fn up_family(name: &str, backend: &str, up: bool) -> MetricFamily {
    MetricFamily::gauge(
        name,
        format!(
            "Whether the last poll could connect to and query the {backend} server (1) or not (0)."
        ),
    )
    .with_value(if up { 1.0 } else { 0.0 })
}

/// An error and its causes on one line: drivers often put the useful part (`Connection
/// refused`) in the innermost source.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    text
}

/// Which problems a source has already logged: one that persists is logged at warn the
/// first time and at debug afterwards, so a broken collector does not flood the log
/// every interval.
#[derive(Debug, Default)]
pub(crate) struct LogOnce {
    seen: HashSet<String>,
}

impl LogOnce {
    /// True the first time `key` is seen.
    pub(crate) fn first(&mut self, key: impl Into<String>) -> bool {
        self.seen.insert(key.into())
    }

    /// `message` at warn the first time `key` is seen, at debug afterwards. `backend`
    /// is what the source polls, as shown to users (a redacted URL).
    pub(crate) fn warn(&mut self, key: impl Into<String>, backend: &str, message: &str) {
        if self.first(key) {
            tracing::warn!(backend = %backend, "{message}");
        } else {
            tracing::debug!(backend = %backend, "{message}");
        }
    }
}

/// The bound for a driver's own connect and response timeouts, and for one probe: a
/// little under the poll's, so that the specific error ("is TLS enabled on this
/// port?", "no complete response") is what gets reported rather than the scheduler's
/// generic "poll did not finish".
pub(crate) fn inner_deadline(poll_timeout: Duration) -> Duration {
    let margin = (poll_timeout / 5).min(Duration::from_millis(500));
    poll_timeout.saturating_sub(margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_deadline_leaves_a_margin() {
        assert_eq!(
            inner_deadline(Duration::from_secs(1)),
            Duration::from_millis(800)
        );
        assert_eq!(
            inner_deadline(Duration::from_secs(5)),
            Duration::from_millis(4500)
        );
        assert_eq!(
            inner_deadline(Duration::from_millis(10)),
            Duration::from_millis(8)
        );
    }
}
