//! What each endpoint reports as `stack_exporter_remote_write_*` self-metrics. Writers
//! update plain atomics; `/metrics` (and the pushes themselves) read them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::model::{labels, MetricFamily, MetricType, Sample};

/// Why samples were dropped before reaching the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// New data did not fit in `queue_capacity`: the oldest went.
    QueueFull,
    /// Still queued when a shutdown's (or an endpoint removal's) flush deadline passed.
    Shutdown,
}

impl DropReason {
    pub const ALL: [DropReason; 2] = [DropReason::QueueFull, DropReason::Shutdown];

    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::Shutdown => "shutdown",
        }
    }
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOutcome {
    Sent,
    Retry,
    Rejected,
}

impl RequestOutcome {
    const ALL: [RequestOutcome; 3] = [
        RequestOutcome::Sent,
        RequestOutcome::Retry,
        RequestOutcome::Rejected,
    ];

    fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Sent => "sent",
            RequestOutcome::Retry => "retry",
            RequestOutcome::Rejected => "rejected",
        }
    }
}

/// Upper bounds of the request duration histogram, in seconds: local receivers answer
/// in milliseconds, hosted ones in tens to hundreds, a struggling one up to the timeout.
const DURATION_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
struct Durations {
    buckets: [u64; DURATION_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// One endpoint's counters. Kept across reloads while the endpoint keeps its name, so
/// counters never go back.
#[derive(Default)]
pub struct EndpointStats {
    url: Mutex<String>,
    sent: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    dropped: [AtomicU64; DropReason::ALL.len()],
    queue: AtomicU64,
    capacity: AtomicU64,
    /// Unix ms; 0 before the first success.
    last_success_ms: AtomicU64,
    bytes: AtomicU64,
    requests: [AtomicU64; RequestOutcome::ALL.len()],
    durations: Mutex<Durations>,
    /// Why the last request failed (already scrubbed of secrets); None once one succeeds.
    last_error: Mutex<Option<String>>,
}

/// One endpoint as the status page shows it.
pub struct EndpointSummary {
    pub name: String,
    pub url: String,
    pub sent: u64,
    pub failed: u64,
    pub dropped: u64,
    pub queue: u64,
    pub capacity: u64,
    /// Unix ms of the last accepted request; 0 if none yet.
    pub last_success_ms: u64,
    pub last_error: Option<String>,
}

impl EndpointStats {
    pub fn set_url(&self, url: &str) {
        *self.url.lock().unwrap_or_else(|p| p.into_inner()) = url.to_owned();
    }

    pub fn add_sent(&self, n: usize, bytes: usize) {
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        let now = super::batch::unix_ms(std::time::SystemTime::now());
        self.last_success_ms
            .store(u64::try_from(now).unwrap_or(0), Ordering::Relaxed);
    }

    pub fn add_failed(&self, n: usize) {
        self.failed.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn add_retried(&self, n: usize) {
        self.retried.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn add_dropped(&self, reason: DropReason, n: usize) {
        if n == 0 {
            return;
        }
        let i = DropReason::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(0);
        self.dropped[i].fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn dropped(&self, reason: DropReason) -> u64 {
        let i = DropReason::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(0);
        self.dropped[i].load(Ordering::Relaxed)
    }

    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn set_last_error(&self, error: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }

    pub fn set_queue(&self, len: usize, capacity: usize) {
        self.queue.store(len as u64, Ordering::Relaxed);
        self.capacity.store(capacity as u64, Ordering::Relaxed);
    }

    pub fn record_request(&self, outcome: RequestOutcome, took: Duration) {
        let i = RequestOutcome::ALL
            .iter()
            .position(|o| *o == outcome)
            .unwrap_or(0);
        self.requests[i].fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        let mut d = self.durations.lock().unwrap_or_else(|p| p.into_inner());
        for (bucket, bound) in d.buckets.iter_mut().zip(DURATION_BUCKETS) {
            if secs <= bound {
                *bucket += 1;
            }
        }
        d.count += 1;
        d.sum += secs;
    }
}

/// Every configured endpoint's stats, in config order.
#[derive(Default)]
pub struct Registry {
    endpoints: Mutex<Vec<(String, Arc<EndpointStats>)>>,
}

impl Registry {
    /// The stats of endpoint `name`, created if new, with its URL label updated.
    pub fn endpoint(&self, name: &str, display_url: &str) -> Arc<EndpointStats> {
        let mut all = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        let stats = match all.iter().find(|(n, _)| n == name) {
            Some((_, s)) => Arc::clone(s),
            None => {
                let s = Arc::new(EndpointStats::default());
                all.push((name.to_owned(), Arc::clone(&s)));
                s
            }
        };
        stats.set_url(display_url);
        stats
    }

    /// Keeps only the endpoints named in `names` (after a reload), in that order.
    pub fn retain(&self, names: &[&str]) {
        let mut all = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|(n, _)| names.contains(&n.as_str()));
        all.sort_by_key(|(n, _)| names.iter().position(|x| x == n));
    }

    /// Every endpoint, in config order, for the status page.
    pub fn summaries(&self) -> Vec<EndpointSummary> {
        let all = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        all.iter()
            .map(|(name, s)| {
                let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
                EndpointSummary {
                    name: name.clone(),
                    url: s.url.lock().unwrap_or_else(|p| p.into_inner()).clone(),
                    sent: load(&s.sent),
                    failed: load(&s.failed),
                    dropped: s.dropped.iter().map(load).sum(),
                    queue: load(&s.queue),
                    capacity: load(&s.capacity),
                    last_success_ms: load(&s.last_success_ms),
                    last_error: s
                        .last_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone(),
                }
            })
            .collect()
    }

    pub fn collect(&self, out: &mut Vec<MetricFamily>) {
        let all: Vec<(String, Arc<EndpointStats>)> = self
            .endpoints
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if all.is_empty() {
            return;
        }
        let prefix = "stack_exporter_remote_write_";
        let counter =
            |name: &str, help: &str| MetricFamily::counter(format!("{prefix}{name}"), help);
        let gauge = |name: &str, help: &str| MetricFamily::gauge(format!("{prefix}{name}"), help);
        let mut sent = counter("samples_sent", "Samples the endpoint accepted.");
        let mut failed = counter(
            "samples_failed",
            "Samples the endpoint refused for good (an HTTP 4xx other than 429); not retried.",
        );
        let mut retried = counter(
            "samples_retried",
            "Samples sent again after a 5xx, a 429 or a network failure, counted per retry.",
        );
        let mut dropped = counter(
            "samples_dropped",
            "Samples never sent, by reason: queue_full (the oldest made room) or shutdown (still queued when the flush deadline passed).",
        );
        let mut queue = gauge(
            "queue_samples",
            "Samples waiting to be sent, including those of the request in flight.",
        );
        let mut capacity = gauge(
            "queue_capacity_samples",
            "Samples the queue holds at most (queue_capacity).",
        );
        let mut last = gauge(
            "last_send_success_timestamp_seconds",
            "Unix time of the last request the endpoint accepted; 0 if none yet.",
        );
        let mut bytes = counter(
            "bytes_sent",
            "Compressed request bytes the endpoint accepted.",
        );
        let mut requests = counter(
            "requests",
            "Requests by outcome: sent, retry (5xx, 429, network) or rejected (other 4xx).",
        );
        let mut duration = MetricFamily::new(
            format!("{prefix}request_duration_seconds"),
            MetricType::Histogram,
            "Time from sending a request to its answer (or failure), in seconds.",
        );
        duration.unit = "seconds".to_owned();
        for (name, s) in &all {
            let url = s.url.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let base = labels(&[("remote_name", name), ("url", &url)]);
            let load = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
            sent.push(base.clone(), load(&s.sent));
            failed.push(base.clone(), load(&s.failed));
            retried.push(base.clone(), load(&s.retried));
            for (reason, n) in DropReason::ALL.iter().zip(&s.dropped) {
                let mut l = base.clone();
                l.push(("reason".to_owned(), reason.as_str().to_owned()));
                dropped.push(l, load(n));
            }
            queue.push(base.clone(), load(&s.queue));
            capacity.push(base.clone(), load(&s.capacity));
            last.push(base.clone(), load(&s.last_success_ms) / 1000.0);
            bytes.push(base.clone(), load(&s.bytes));
            for (outcome, n) in RequestOutcome::ALL.iter().zip(&s.requests) {
                let mut l = base.clone();
                l.push(("outcome".to_owned(), outcome.as_str().to_owned()));
                requests.push(l, load(n));
            }
            let d = s.durations.lock().unwrap_or_else(|p| p.into_inner());
            let sample = |suffix: &str, labels: Vec<(String, String)>, value: f64| Sample {
                name: format!("{prefix}request_duration_seconds{suffix}"),
                labels,
                value,
                timestamp_ms: None,
            };
            for (bound, n) in DURATION_BUCKETS.iter().zip(d.buckets) {
                let mut l = base.clone();
                l.push(("le".to_owned(), bound.to_string()));
                duration.samples.push(sample("_bucket", l, n as f64));
            }
            let mut l = base.clone();
            l.push(("le".to_owned(), "+Inf".to_owned()));
            duration.samples.push(sample("_bucket", l, d.count as f64));
            duration.samples.push(sample("_sum", base.clone(), d.sum));
            duration
                .samples
                .push(sample("_count", base.clone(), d.count as f64));
        }
        out.extend([
            sent, failed, retried, dropped, queue, capacity, last, bytes, requests, duration,
        ]);
    }
}
