//! Remote write: pushing the unified metrics to Prometheus-compatible receivers
//! (Prometheus, Grafana Cloud, Mimir, VictoriaMetrics) with protocol 1.0.
//!
//! What is sent is what a Prometheus scrape of the classic `/metrics` would ingest:
//! every source's series as published (with `source` and its configured labels), minus
//! what `/metrics` leaves out (duplicates, invalid names, type conflicts), without
//! `_created`, plus the exporter's own `stack_exporter_*` / `process_*` series
//! (`self_metrics`). Each sample carries its poll's finish time (or its own timestamp).
//! The endpoint's `external_labels` stand in for the `job` / `instance` a scrape would add.
//! A series that disappears from a source (failed poll, source removed) gets a staleness
//! marker, as a scrape would write.
//!
//! One task per endpoint. It watches the `Store`: a poll's `SeriesBatch` (built by the
//! poller beside its text snapshot) is queued once, right after the poll (`interval`
//! unset) or on the endpoint's own `interval` (only the latest poll of each source is
//! sent then). Requests go one at a time, oldest data first; see `queue` for what is
//! dropped and counted when the receiver is down, `send` for what each answer means.
//! Nothing here is awaited by a poll or by `/metrics`: remote write only reads the store.

mod batch;
pub mod proto;
mod queue;
mod send;
mod stats;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use batch::{unix_ms, BatchBuilder, SeriesBatch};
pub use stats::{DropReason, EndpointStats, EndpointSummary, Registry};

use crate::config::{Config, RemoteWriteConfig};
use crate::exposition::{self, EncodedSnapshot, Format};
use crate::model::MetricType;
use crate::redact::Scrubber;
use crate::scheduler::Store;
use crate::selfmetrics::{self, RuntimeStatus};
use queue::{Chunk, Outcome, Queue};
use send::{Sender, Verdict};
use stats::RequestOutcome;

/// A shutdown (or an endpoint's removal) flushes the queue for at most this long, or the
/// endpoint's timeout if shorter.
pub const MAX_FLUSH: Duration = Duration::from_secs(5);
/// How often self-metrics are pushed when `interval` is unset and no source is
/// configured to set the pace.
const DEFAULT_SELF_EVERY: Duration = Duration::from_secs(15);
/// The part name of the self-metrics in `/metrics` assembly (see `server::body_cache`).
const SELF_PART: &str = "stack_exporter";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Control {
    /// Keep going; self-metrics are pushed every `self_every` when `interval` is unset.
    Run { self_every: Duration },
    /// Stop now and hand the queue to the task replacing this one (a reload that
    /// changed the endpoint's settings but not its name).
    Handover,
    /// Push what is new, send the queue until `deadline`, then stop.
    Stop { deadline: Instant },
}

/// What an endpoint carries across a reload that changes its settings.
struct State {
    queue: Queue,
    /// The batch last queued per source, to skip a poll already queued and to find
    /// the series that disappeared since.
    last: HashMap<String, Arc<SeriesBatch>>,
    own_last: Option<Arc<SeriesBatch>>,
    /// Per source, the timestamp last queued of each series that brings its own: a
    /// sample whose timestamp did not advance is not sent again (a receiver would
    /// refuse the whole request for one sample out of order, where a scrape drops
    /// only that sample).
    own_times: HashMap<String, HashMap<u64, i64>>,
}

struct Running {
    config: RemoteWriteConfig,
    control: watch::Sender<Control>,
    handle: JoinHandle<Option<State>>,
}

/// The remote-write endpoints of the running config.
pub struct RemoteWriter {
    store: Arc<Store>,
    runtime: Arc<RuntimeStatus>,
    scrubber: Scrubber,
    running: Vec<Running>,
}

impl RemoteWriter {
    pub fn start(
        config: &Config,
        store: Arc<Store>,
        runtime: Arc<RuntimeStatus>,
        scrubber: Scrubber,
    ) -> RemoteWriter {
        let mut writer = RemoteWriter {
            store,
            runtime,
            scrubber,
            running: Vec::new(),
        };
        writer.apply(config);
        writer
    }

    /// Moves to a new config: an unchanged endpoint keeps running; a changed one (same
    /// name) restarts with its queue; a new one starts empty; a removed one flushes and
    /// stops in the background.
    pub fn apply(&mut self, config: &Config) {
        self.store
            .set_remote_write_enabled(!config.remote_write.is_empty());
        let self_every = config
            .sources()
            .map(|s| s.interval)
            .min()
            .unwrap_or(DEFAULT_SELF_EVERY);
        let mut old = std::mem::take(&mut self.running);
        for cfg in &config.remote_write {
            let running = match old.iter().position(|r| r.config.name == cfg.name) {
                Some(i) => {
                    let r = old.swap_remove(i);
                    if r.config == *cfg {
                        let _ = r.control.send(Control::Run { self_every });
                        r
                    } else {
                        let _ = r.control.send(Control::Handover);
                        self.spawn(cfg, self_every, Some(r.handle))
                    }
                }
                None => self.spawn(cfg, self_every, None),
            };
            self.running.push(running);
        }
        for gone in old {
            let deadline = Instant::now() + flush_time(&gone.config);
            let _ = gone.control.send(Control::Stop { deadline });
        }
        let names: Vec<&str> = config
            .remote_write
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        self.runtime.remote_write.retain(&names);
    }

    fn spawn(
        &self,
        cfg: &RemoteWriteConfig,
        self_every: Duration,
        prior: Option<JoinHandle<Option<State>>>,
    ) -> Running {
        let stats = self
            .runtime
            .remote_write
            .endpoint(&cfg.name, &cfg.display_url);
        let sender = match Sender::new(cfg, self.scrubber.clone()) {
            Ok(s) => Some(Arc::new(s)),
            Err(e) => {
                // Validation built the same TLS settings, so this is not expected; the
                // queue then fills and its drops are counted.
                tracing::error!(remote = %cfg.name, error = %self.scrubber.scrub(&e), "cannot set up remote write");
                None
            }
        };
        let endpoint = Endpoint {
            external: cfg
                .external_labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            cfg: cfg.clone(),
            store: Arc::clone(&self.store),
            runtime: Arc::clone(&self.runtime),
            stats,
            sender,
            state: State {
                queue: Queue::new(cfg.queue_capacity),
                last: HashMap::new(),
                own_last: None,
                own_times: HashMap::new(),
            },
            request: None,
            body: None,
            retry_at: None,
            failures: 0,
            writer: proto::RequestWriter::default(),
            dropping: false,
            warned_large: false,
            draining: None,
        };
        let (control, rx) = watch::channel(Control::Run { self_every });
        let handle = tokio::spawn(endpoint.run(rx, prior));
        Running {
            config: cfg.clone(),
            control,
            handle,
        }
    }

    /// Pushes what is new and flushes every queue, each within its flush time.
    pub async fn shutdown(self) {
        let mut longest = Duration::ZERO;
        for r in &self.running {
            let wait = flush_time(&r.config);
            longest = longest.max(wait);
            let _ = r.control.send(Control::Stop {
                deadline: Instant::now() + wait,
            });
        }
        let all = futures_util::future::join_all(self.running.into_iter().map(|r| r.handle));
        // The tasks stop themselves at their deadline; the margin covers the last abort.
        let _ = tokio::time::timeout(longest + Duration::from_secs(1), all).await;
    }
}

fn flush_time(cfg: &RemoteWriteConfig) -> Duration {
    cfg.timeout.min(MAX_FLUSH)
}

struct Endpoint {
    cfg: RemoteWriteConfig,
    /// `cfg.external_labels` in name order, as the encoder merges them.
    external: Vec<(String, String)>,
    store: Arc<Store>,
    runtime: Arc<RuntimeStatus>,
    stats: Arc<EndpointStats>,
    sender: Option<Arc<Sender>>,
    state: State,
    /// The attempt in flight; its samples stay queued until it is over.
    request: Option<JoinHandle<(Verdict, Duration)>>,
    /// The open request's compressed body, kept for retries, and its size.
    body: Option<Bytes>,
    retry_at: Option<Instant>,
    /// Failed attempts in a row, for the backoff and for logging once per outage.
    failures: u32,
    writer: proto::RequestWriter,
    /// Whether the queue has dropped data since the last successful request (logged once).
    dropping: bool,
    warned_large: bool,
    /// After an outage: when the first request went through, and the samples sent
    /// since, until the backlog is gone (then logged: the drain rate).
    draining: Option<(Instant, usize)>,
}

impl Endpoint {
    async fn run(
        mut self,
        mut control: watch::Receiver<Control>,
        prior: Option<JoinHandle<Option<State>>>,
    ) -> Option<State> {
        if let Some(prior) = prior {
            if let Ok(Some(state)) = prior.await {
                self.adopt(state);
            }
        }
        let mut changes = self.store.subscribe();
        let mut self_every = match *control.borrow() {
            Control::Run { self_every } => self_every,
            _ => DEFAULT_SELF_EVERY,
        };
        let mut tick = ticker(self.cfg.interval.unwrap_or(self_every));
        // Whatever the store holds already (a reload, a late start) goes out now.
        self.round(false);
        loop {
            self.maybe_start();
            tokio::select! {
                changed = control.changed() => {
                    let now = match changed {
                        Ok(()) => *control.borrow_and_update(),
                        // The writer is gone without a word: stop as at shutdown.
                        Err(_) => Control::Stop { deadline: Instant::now() + flush_time(&self.cfg) },
                    };
                    match now {
                        Control::Run { self_every: every } => {
                            if self.cfg.interval.is_none() && every != self_every {
                                self_every = every;
                                tick = ticker(every);
                            }
                        }
                        Control::Handover => {
                            self.abort_request();
                            return Some(self.state);
                        }
                        Control::Stop { deadline } => {
                            self.flush(deadline).await;
                            return None;
                        }
                    }
                }
                changed = changes.changed(), if self.cfg.interval.is_none() => {
                    if changed.is_ok() {
                        self.round(false);
                    }
                }
                _ = tick.tick() => self.round(true),
                done = wait_request(&mut self.request) => self.finish(done),
                _ = sleep_until(self.retry_at), if self.request.is_none() => self.retry_at = None,
            }
        }
    }

    /// Takes over the queue of the task this one replaces.
    fn adopt(&mut self, mut state: State) {
        // Its open request was cancelled mid-way: start over from the front.
        let lost = state.queue.discard_request();
        self.stats.add_dropped(DropReason::QueueFull, lost);
        let lost = state.queue.set_capacity(self.cfg.queue_capacity);
        self.stats.add_dropped(DropReason::QueueFull, lost);
        self.state = state;
        self.update_queue_stats();
    }

    /// Queues what is new in the store; with `own`, the self-metrics too.
    fn round(&mut self, own: bool) {
        let now_ms = unix_ms(SystemTime::now());
        let entries = self.store.remote_entries();
        let mut own_batch = (own && self.cfg.self_metrics).then(|| BatchBuilder::new(now_ms));
        // Encoded even when not sent: `/metrics` puts them first, so they decide which
        // families of the sources a type conflict leaves out.
        let own_snapshot = EncodedSnapshot::encode_with(
            selfmetrics::collect(&self.store.statuses(), &self.runtime),
            |f, s| {
                if let Some(b) = own_batch.as_mut() {
                    b.add(f, s)
                }
            },
        );
        let mut parts: Vec<(&str, &EncodedSnapshot)> = Vec::with_capacity(entries.len() + 1);
        parts.push((SELF_PART, &own_snapshot));
        parts.extend(entries.iter().map(|(n, s, _)| (n.as_str(), s.as_ref())));
        let conflicts = exposition::conflicts(&parts, Format::Classic);
        let left_out = |source: &str, family: &str, kind: MetricType| {
            conflicts
                .iter()
                .any(|c| c.source == source && c.family == family && c.dropped == kind)
        };

        if let Some(b) = own_batch {
            let batch = Arc::new(b.finish());
            let ranges = batch.ranges(|f, k| left_out(SELF_PART, f, k));
            let previous = self.state.own_last.replace(Arc::clone(&batch));
            self.enqueue(&batch, &ranges, previous);
        }
        for (name, _, batch) in &entries {
            let Some(batch) = batch else { continue };
            if self
                .state
                .last
                .get(name)
                .is_some_and(|b| b.id() == batch.id())
            {
                continue;
            }
            let mut ranges = batch.ranges(|f, k| left_out(name, f, k));
            if batch.has_own_timestamps() {
                let before = self.state.own_times.remove(name).unwrap_or_default();
                let (kept, times) = advancing_only(batch, &ranges, &before);
                ranges = kept;
                self.state.own_times.insert(name.clone(), times);
            } else {
                self.state.own_times.remove(name);
            }
            let previous = self.state.last.insert(name.clone(), Arc::clone(batch));
            self.enqueue(batch, &ranges, previous);
        }
        // Sources removed by a reload: their series end now.
        let gone: Vec<String> = (self.state.last.keys())
            .filter(|k| !entries.iter().any(|(n, _, _)| n == *k))
            .cloned()
            .collect();
        for name in gone {
            self.state.own_times.remove(&name);
            if let Some(stale) = self
                .state
                .last
                .remove(&name)
                .and_then(|old| old.vanished(None, now_ms))
            {
                let all = [(0, stale.len() as u32)];
                self.enqueue(&Arc::new(stale), &all, None);
            }
        }
        self.update_queue_stats();
    }

    /// Queues `ranges` of `batch`, then staleness markers for what `previous` (the batch
    /// this one replaces) had and `batch` has not.
    fn enqueue(
        &mut self,
        batch: &Arc<SeriesBatch>,
        ranges: &[(u32, u32)],
        previous: Option<Arc<SeriesBatch>>,
    ) {
        if batch.len() > self.state.queue.capacity() && !self.warned_large {
            self.warned_large = true;
            tracing::warn!(
                remote = %self.cfg.name,
                series = batch.len(),
                queue_capacity = self.state.queue.capacity(),
                "one poll has more series than remote_write.queue_capacity holds; raise queue_capacity or every push loses its oldest series"
            );
        }
        for &(start, end) in ranges {
            self.push_chunk(Chunk {
                batch: Arc::clone(batch),
                start,
                end,
            });
        }
        let stale = previous.and_then(|p| p.vanished(Some(batch), batch_time(batch)));
        if let Some(stale) = stale {
            let end = stale.len() as u32;
            self.push_chunk(Chunk {
                batch: Arc::new(stale),
                start: 0,
                end,
            });
        }
    }

    fn push_chunk(&mut self, chunk: Chunk) {
        let dropped = self.state.queue.push(chunk);
        if dropped > 0 {
            self.stats.add_dropped(DropReason::QueueFull, dropped);
            if !self.dropping {
                self.dropping = true;
                tracing::warn!(
                    remote = %self.cfg.name,
                    queue_capacity = self.state.queue.capacity(),
                    "remote write queue full: dropping the oldest samples until the endpoint accepts data again"
                );
            }
        }
    }

    /// Starts a request when none is open and no backoff is running.
    fn maybe_start(&mut self) {
        if self.request.is_some() || self.retry_at.is_some() || self.state.queue.is_empty() {
            return;
        }
        let Some(sender) = self.sender.clone() else {
            return;
        };
        let queue = &mut self.state.queue;
        // A request waiting for its retry lost samples to newer data: what is left of
        // it goes out with the next request instead.
        if queue.has_request() && !queue.request_intact() {
            let lost = queue.discard_request();
            self.stats.add_dropped(DropReason::QueueFull, lost);
            self.body = None;
        }
        if !self.state.queue.has_request() || self.body.is_none() {
            self.state.queue.discard_request();
            let chunks = self.state.queue.take(self.cfg.max_samples_per_request);
            if chunks.is_empty() {
                return;
            }
            self.body = Some(self.encode(&chunks));
        }
        let Some(body) = self.body.clone() else {
            return;
        };
        self.request = Some(tokio::spawn(async move { sender.send(body).await }));
    }

    /// The snappy-compressed `WriteRequest` of `chunks`.
    fn encode(&mut self, chunks: &[Chunk]) -> Bytes {
        self.writer.clear();
        for c in chunks {
            for i in c.start..c.end {
                if let Some((labels, bits, ts)) = c.batch.get(i as usize) {
                    self.writer.push_bits(labels, &self.external, bits, ts);
                }
            }
        }
        match snap::raw::Encoder::new().compress_vec(self.writer.body()) {
            Ok(compressed) => Bytes::from(compressed),
            // Only an input over ~4 GiB fails; the receiver then rejects the empty
            // body and the batch is counted as failed, not retried forever.
            Err(_) => Bytes::new(),
        }
    }

    fn finish(&mut self, done: Result<(Verdict, Duration), tokio::task::JoinError>) {
        self.request = None;
        let (verdict, took) = done.unwrap_or_else(|e| {
            (
                Verdict::Retry {
                    after: None,
                    why: format!("request task ended: {e}"),
                },
                Duration::ZERO,
            )
        });
        let queue = &mut self.state.queue;
        match verdict {
            Verdict::Sent => {
                let bytes = self.body.take().map_or(0, |b| b.len());
                let counted = queue.complete(Outcome::Sent);
                self.stats.add_sent(counted.sent, bytes);
                self.stats.record_request(RequestOutcome::Sent, took);
                self.stats.set_last_error(None);
                if self.failures > 0 {
                    tracing::info!(remote = %self.cfg.name, "remote write endpoint accepts data again");
                    self.draining = Some((Instant::now() - took, 0));
                }
                self.failures = 0;
                self.dropping = false;
                if let Some((since, sent)) = &mut self.draining {
                    *sent += counted.sent;
                    if queue.is_empty() {
                        let secs = since.elapsed().as_secs_f64();
                        tracing::info!(
                            remote = %self.cfg.name,
                            samples = *sent,
                            seconds = format_args!("{secs:.3}"),
                            samples_per_second = format_args!("{:.0}", *sent as f64 / secs.max(1e-3)),
                            "remote write backlog delivered"
                        );
                        self.draining = None;
                    }
                }
            }
            Verdict::Reject { why } => {
                self.body = None;
                let counted = queue.complete(Outcome::Rejected);
                self.stats.add_failed(counted.failed);
                self.stats.record_request(RequestOutcome::Rejected, took);
                self.stats
                    .set_last_error(Some(format!("rejected, samples dropped: {why}")));
                self.failures = 0;
                tracing::warn!(
                    remote = %self.cfg.name,
                    samples = counted.failed,
                    error = %why,
                    "remote write endpoint rejected a request; its samples are dropped"
                );
            }
            Verdict::Retry { after, why } => {
                let counted = queue.complete(Outcome::Retry);
                self.stats.add_retried(counted.retried);
                self.stats.record_request(RequestOutcome::Retry, took);
                self.stats
                    .set_last_error(Some(format!("retrying, samples kept: {why}")));
                self.failures = self.failures.saturating_add(1);
                let wait = match after {
                    Some(after) => after.max(self.cfg.min_backoff),
                    None => backoff(self.cfg.min_backoff, self.cfg.max_backoff, self.failures),
                };
                self.retry_at = Some(Instant::now() + wait);
                if self.failures == 1 {
                    tracing::warn!(
                        remote = %self.cfg.name,
                        error = %why,
                        retry_in = %humantime::format_duration(round_ms(wait)),
                        "remote write failed; retrying with backoff (samples stay queued)"
                    );
                } else {
                    tracing::debug!(remote = %self.cfg.name, error = %why, attempt = self.failures, "remote write retry failed");
                }
            }
        }
        self.update_queue_stats();
    }

    fn abort_request(&mut self) {
        if let Some(r) = self.request.take() {
            r.abort();
        }
    }

    /// The last round and as much of the queue as the deadline allows; the rest is
    /// dropped and counted.
    async fn flush(&mut self, deadline: Instant) {
        self.round(true);
        loop {
            self.maybe_start();
            if self.request.is_none() && self.retry_at.is_none() {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                done = wait_request(&mut self.request) => self.finish(done),
                _ = sleep_until(self.retry_at), if self.request.is_none() => self.retry_at = None,
            }
        }
        self.abort_request();
        let lost = self.state.queue.clear();
        if lost > 0 {
            self.stats.add_dropped(DropReason::Shutdown, lost);
            tracing::warn!(remote = %self.cfg.name, samples = lost, "remote write queue not empty at the flush deadline; dropped");
        }
        self.update_queue_stats();
    }

    fn update_queue_stats(&self) {
        self.stats
            .set_queue(self.state.queue.len(), self.state.queue.capacity());
    }
}

/// `ranges` of `batch` without the series whose own timestamp is not past the one
/// queued before (`before`, label hash → timestamp); and the timestamps to remember.
fn advancing_only(
    batch: &SeriesBatch,
    ranges: &[(u32, u32)],
    before: &HashMap<u64, i64>,
) -> (Vec<(u32, u32)>, HashMap<u64, i64>) {
    let mut kept: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    let mut times = HashMap::new();
    for &(start, end) in ranges {
        for i in start..end {
            let send = match batch.own_timestamp(i as usize) {
                None => true,
                Some((hash, ts)) => {
                    let last = before.get(&hash).copied();
                    times.insert(hash, last.map_or(ts, |l| l.max(ts)));
                    last.is_none_or(|l| ts > l)
                }
            };
            if send {
                match kept.last_mut() {
                    Some(r) if r.1 == i => r.1 = i + 1,
                    _ => kept.push((i, i + 1)),
                }
            }
        }
    }
    (kept, times)
}

/// The timestamp a batch's staleness markers take: its poll's time.
fn batch_time(batch: &SeriesBatch) -> i64 {
    batch.timestamp_ms()
}

/// `min · 2^(failures-1)` capped at `max`, with the upper half jittered so endpoints
/// that failed together do not retry in step.
fn backoff(min: Duration, max: Duration, failures: u32) -> Duration {
    let exp = min.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    let base = exp.min(max);
    let half = base / 2;
    half + half.mul_f64(fastrand::f64())
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

fn ticker(period: Duration) -> tokio::time::Interval {
    let mut t = tokio::time::interval(period.max(Duration::from_millis(100)));
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
}

async fn wait_request(
    request: &mut Option<JoinHandle<(Verdict, Duration)>>,
) -> Result<(Verdict, Duration), tokio::task::JoinError> {
    match request {
        Some(r) => r.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_whose_own_timestamp_did_not_advance_is_not_sent_again() {
        use crate::model::{labels, MetricFamily, Sample};
        let build = |ts: i64| {
            let mut f = MetricFamily::gauge("g", "G.");
            f.push(labels(&[("k", "poll")]), 1.0);
            f.samples.push(Sample {
                name: "g".into(),
                labels: labels(&[("k", "own")]),
                value: 2.0,
                timestamp_ms: Some(ts),
            });
            f.push(labels(&[("k", "poll2")]), 3.0);
            let mut b = BatchBuilder::new(1_000);
            for s in &f.samples {
                b.add(&f, s);
            }
            b.finish()
        };
        let first = build(500);
        let all = [(0, 3)];
        let (kept, times) = advancing_only(&first, &all, &HashMap::new());
        assert_eq!(kept, vec![(0, 3)]);
        let (kept, times) = advancing_only(&build(500), &all, &times);
        assert_eq!(kept, vec![(0, 1), (2, 3)], "the repeat is left out");
        let (kept, _) = advancing_only(&build(400), &all, &times);
        assert_eq!(kept, vec![(0, 1), (2, 3)], "so is a step back");
        let (kept, _) = advancing_only(&build(501), &all, &times);
        assert_eq!(kept, vec![(0, 3)]);
    }

    #[test]
    fn backoff_grows_to_its_cap_with_jitter() {
        let min = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        for failures in 1..40 {
            let d = backoff(min, max, failures);
            let base = min.saturating_mul(1 << (failures - 1).min(20)).min(max);
            assert!(d >= base / 2 && d <= base, "{failures}: {d:?}");
        }
    }
}
