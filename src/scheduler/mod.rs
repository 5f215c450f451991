//! Runs every source on its own interval and publishes its snapshots to the `Store`.
//!
//! One tokio task per source. A task polls, waits, polls again: polls of one source never
//! overlap. Each poll is bounded by the source's timeout; a poll past it is cancelled,
//! counted as a `timeout` failure, and the source is told to drop its connection.

mod backoff;
pub mod store;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{
    AppConfig, Config, PgBouncerConfig, PostgresConfig, RedisConfig, SourceCommon,
};
use crate::exposition::EncodedSnapshot;
use crate::model::{apply_source_labels, MetricFamily};
use crate::redact::Scrubber;
use crate::remote_write::{BatchBuilder, SeriesBatch};
use crate::sources::{
    http::AppSource, pgbouncer::PgBouncerSource, postgres::PostgresSource, redis::RedisSource,
    ErrorReason, PollError, Source, SourceKind,
};
pub use store::{SourceState, SourceStatus, Store};

/// One configured source, as far as the scheduler is concerned. Two equal specs poll the
/// same backend the same way, so a reload keeps a source whose spec did not change.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    Postgres(PostgresConfig),
    PgBouncer(PgBouncerConfig),
    Redis(RedisConfig),
    /// Boxed: an app's config (probes, signals) is several times the others'.
    App(Box<AppConfig>),
}

impl SourceSpec {
    pub fn from_config(config: &Config) -> Vec<SourceSpec> {
        config
            .postgres
            .iter()
            .cloned()
            .map(SourceSpec::Postgres)
            .chain(config.pgbouncer.iter().cloned().map(SourceSpec::PgBouncer))
            .chain(config.redis.iter().cloned().map(SourceSpec::Redis))
            .chain(
                config
                    .apps
                    .iter()
                    .cloned()
                    .map(|a| SourceSpec::App(Box::new(a))),
            )
            .collect()
    }

    pub fn common(&self) -> &SourceCommon {
        match self {
            SourceSpec::Postgres(c) => &c.common,
            SourceSpec::PgBouncer(c) => &c.common,
            SourceSpec::Redis(c) => &c.common,
            SourceSpec::App(c) => &c.common,
        }
    }

    pub fn kind(&self) -> SourceKind {
        match self {
            SourceSpec::Postgres(_) => SourceKind::Postgres,
            SourceSpec::PgBouncer(_) => SourceKind::PgBouncer,
            SourceSpec::Redis(_) => SourceKind::Redis,
            SourceSpec::App(_) => SourceKind::App,
        }
    }

    /// What the source polls, for the status page; never holds a password.
    pub fn target(&self) -> String {
        match self {
            SourceSpec::Postgres(c) => c.display_url.clone(),
            SourceSpec::PgBouncer(c) => c.display_url.clone(),
            SourceSpec::Redis(c) => c.display_url.clone(),
            SourceSpec::App(c) => c
                .metrics
                .iter()
                .map(|m| m.display_url.as_str())
                .chain(c.probes.iter().map(|p| p.display_url.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    fn initial_status(&self) -> SourceStatus {
        let common = self.common();
        SourceStatus::pending(
            common.name.clone(),
            self.kind(),
            self.target(),
            common.interval,
            common.timeout,
        )
    }
}

struct RunningSource {
    task_id: u64,
    spec: SourceSpec,
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

pub struct Scheduler {
    store: Arc<Store>,
    scrubber: Scrubber,
    running: Vec<RunningSource>,
    next_task_id: AtomicU64,
}

impl Scheduler {
    /// Starts one poller per configured source.
    pub fn start(config: &Config, store: Arc<Store>, scrubber: Scrubber) -> Scheduler {
        let mut scheduler = Scheduler {
            store,
            scrubber,
            running: Vec::new(),
            next_task_id: AtomicU64::new(1),
        };
        scheduler.apply(config);
        scheduler
    }

    /// Moves to a new config: sources whose spec is unchanged keep running (and keep their
    /// snapshot); changed and new ones start fresh; removed ones are stopped.
    pub fn apply(&mut self, config: &Config) {
        let specs = SourceSpec::from_config(config);
        let mut old: Vec<RunningSource> = std::mem::take(&mut self.running);
        let mut order = Vec::with_capacity(specs.len());
        for spec in specs {
            let running = match old.iter().position(|r| r.spec == spec) {
                Some(i) => old.swap_remove(i),
                None => self.spawn(spec),
            };
            order.push((running.task_id, running.spec.initial_status()));
            self.running.push(running);
        }
        for gone in old {
            // The task closes its connections and exits; its late publish, if any, finds
            // no slot with its task id.
            let _ = gone.stop.send(true);
        }
        self.store.set_sources(order);
    }

    fn spawn(&self, spec: SourceSpec) -> RunningSource {
        let task_id = self.next_task_id.fetch_add(1, Ordering::Relaxed);
        let (stop, stop_rx) = watch::channel(false);
        let poller = Poller {
            task_id,
            name: spec.common().name.clone(),
            interval: spec.common().interval,
            timeout: spec.common().timeout,
            labels: spec.common().labels.clone(),
            store: Arc::clone(&self.store),
        };
        let scrubber = self.scrubber.clone();
        let handle = match &spec {
            SourceSpec::Postgres(c) => {
                tokio::spawn(poller.run(PostgresSource::new(c, scrubber), stop_rx))
            }
            SourceSpec::PgBouncer(c) => {
                tokio::spawn(poller.run(PgBouncerSource::new(c, scrubber), stop_rx))
            }
            SourceSpec::Redis(c) => {
                tokio::spawn(poller.run(RedisSource::new(c, scrubber), stop_rx))
            }
            SourceSpec::App(c) => tokio::spawn(poller.run(AppSource::new(c, scrubber), stop_rx)),
        };
        RunningSource {
            task_id,
            spec,
            stop,
            handle,
        }
    }

    /// Stops every poller and waits (up to `deadline`) for them to close their connections.
    pub async fn shutdown(self, deadline: Duration) {
        for r in &self.running {
            let _ = r.stop.send(true);
        }
        let all = futures_util::future::join_all(self.running.into_iter().map(|r| r.handle));
        let _ = tokio::time::timeout(deadline, all).await;
    }
}

/// Polls every spec once, concurrently, each bounded by its timeout; for `--once`.
pub async fn poll_once(
    config: &Config,
    scrubber: &Scrubber,
) -> Vec<(SourceSpec, Result<(), PollError>, EncodedSnapshot)> {
    let specs = SourceSpec::from_config(config);
    let futures = specs.into_iter().map(|spec| {
        let scrubber = scrubber.clone();
        async move {
            let (result, families) = match &spec {
                SourceSpec::Postgres(c) => {
                    poll_bounded(&mut PostgresSource::new(c, scrubber), spec.common().timeout).await
                }
                SourceSpec::PgBouncer(c) => {
                    poll_bounded(
                        &mut PgBouncerSource::new(c, scrubber),
                        spec.common().timeout,
                    )
                    .await
                }
                SourceSpec::Redis(c) => {
                    poll_bounded(&mut RedisSource::new(c, scrubber), spec.common().timeout).await
                }
                SourceSpec::App(c) => {
                    poll_bounded(&mut AppSource::new(c, scrubber), spec.common().timeout).await
                }
            };
            let (snapshot, _) = encode(families, &spec.common().name, &spec.common().labels, None);
            (spec, result, snapshot)
        }
    });
    futures_util::future::join_all(futures).await
}

/// One poll bounded by `timeout`; on failure the families are the source's health ones.
async fn poll_bounded<S: Source>(
    source: &mut S,
    timeout: Duration,
) -> (Result<(), PollError>, Vec<MetricFamily>) {
    let mut families = Vec::new();
    let result = match tokio::time::timeout(timeout, source.poll(&mut families)).await {
        Ok(result) => result,
        Err(_) => {
            source.reset();
            Err(PollError::new(
                ErrorReason::Timeout,
                format!(
                    "poll did not finish within the timeout of {}",
                    humantime::format_duration(timeout)
                ),
            ))
        }
    };
    match result {
        Ok(()) => (Ok(()), families),
        Err(error) => {
            let families = source.health_families(&error);
            (Err(error), families)
        }
    }
}

/// The poll's snapshot, and its remote-write series when `remote_ts` (their timestamp)
/// is given.
fn encode(
    mut families: Vec<MetricFamily>,
    source: &str,
    labels: &BTreeMap<String, String>,
    remote_ts: Option<i64>,
) -> (EncodedSnapshot, Option<SeriesBatch>) {
    apply_source_labels(&mut families, source, labels);
    match remote_ts {
        None => (EncodedSnapshot::encode(families), None),
        Some(ts) => {
            let mut batch = BatchBuilder::new(ts);
            let snapshot = EncodedSnapshot::encode_with(families, |f, s| batch.add(f, s));
            (snapshot, Some(batch.finish()))
        }
    }
}

struct Poller {
    task_id: u64,
    name: String,
    interval: Duration,
    timeout: Duration,
    labels: BTreeMap<String, String>,
    store: Arc<Store>,
}

impl Poller {
    async fn run<S: Source>(self, mut source: S, mut stop: watch::Receiver<bool>) {
        let first = backoff::initial_offset(self.interval);
        if self.sleep_or_stop(first, &mut stop).await {
            source.close().await;
            return;
        }
        let mut connect_failures: u32 = 0;
        loop {
            let started_at = Instant::now();
            let outcome = tokio::select! {
                outcome = poll_bounded(&mut source, self.timeout) => outcome,
                _ = stop.changed() => {
                    source.reset();
                    break;
                }
            };
            let (result, families) = outcome;
            let duration = started_at.elapsed();
            let last_reason = result.as_ref().err().map(|e| e.reason);
            match &result {
                Ok(()) => {
                    if connect_failures > 0 {
                        tracing::info!(source = %self.name, "source recovered");
                    }
                    connect_failures = 0;
                }
                Err(error) => {
                    if error.reason == ErrorReason::Connect {
                        connect_failures = connect_failures.saturating_add(1);
                    } else {
                        connect_failures = 0;
                    }
                    tracing::warn!(
                        source = %self.name,
                        reason = error.reason.as_str(),
                        error = %error.message,
                        "poll failed"
                    );
                }
            }
            let delay = backoff::next_delay(self.interval, last_reason, connect_failures)
                .saturating_sub(duration);
            let finished = SystemTime::now();
            // The poll's series for remote write carry its finish time, as a scrape's
            // samples carry the scrape's time.
            let remote_ts = self
                .store
                .remote_write_enabled()
                .then(|| crate::remote_write::unix_ms(finished));
            let (snapshot, remote) = encode(families, &self.name, &self.labels, remote_ts);
            let large = snapshot.series() >= crate::memory::LARGE_POLL_SERIES;
            self.store.publish(
                self.task_id,
                store::PollOutcome {
                    finished,
                    duration,
                    result,
                    snapshot,
                    remote,
                    next_poll: SystemTime::now() + delay,
                    notes: source.notes(),
                    failing: source.failing(),
                    latency_threshold_resolved: source.latency_threshold_resolved(),
                },
            );
            if large {
                // The poll's transient memory (body, families) and the snapshot it
                // replaced are free now.
                tokio::task::spawn_blocking(crate::memory::release_freed);
            }
            if self.sleep_or_stop(delay, &mut stop).await {
                break;
            }
        }
        source.close().await;
    }

    /// Sleeps; true when told to stop instead.
    async fn sleep_or_stop(&self, delay: Duration, stop: &mut watch::Receiver<bool>) -> bool {
        if *stop.borrow() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => false,
            _ = stop.changed() => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize};

    use super::*;
    use crate::model::MetricType;

    /// A scripted source: its Nth poll sleeps `delays[N]` and then succeeds. It records
    /// resets and the most polls ever in flight at once.
    struct Scripted {
        delays: Vec<Duration>,
        polls: Arc<AtomicUsize>,
        in_flight: Arc<AtomicUsize>,
        max_in_flight: Arc<AtomicUsize>,
        resets: Arc<AtomicUsize>,
        closed: Arc<AtomicBool>,
    }

    impl Source for Scripted {
        fn kind(&self) -> SourceKind {
            SourceKind::App
        }

        async fn poll(&mut self, out: &mut Vec<MetricFamily>) -> Result<(), PollError> {
            let n = self.polls.fetch_add(1, Ordering::SeqCst);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            let delay = self.delays.get(n).copied().unwrap_or_default();
            tokio::time::sleep(delay).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            out.push(MetricFamily::gauge("scripted_value", "V.").with_value(n as f64));
            Ok(())
        }

        fn health_families(&self, _error: &PollError) -> Vec<MetricFamily> {
            vec![MetricFamily::gauge("scripted_up", "Up.").with_value(0.0)]
        }

        fn reset(&mut self) {
            // A cancelled poll never decremented its in-flight count.
            self.in_flight.store(0, Ordering::SeqCst);
            self.resets.fetch_add(1, Ordering::SeqCst);
        }

        async fn close(&mut self) {
            self.closed.store(true, Ordering::SeqCst);
        }
    }

    fn status(name: &str) -> SourceStatus {
        SourceStatus::pending(
            name,
            SourceKind::App,
            "",
            Duration::from_millis(100),
            Duration::from_millis(50),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_poll_past_its_timeout_is_cancelled_reset_and_publishes_health_only() {
        let store = Arc::new(Store::new());
        store.set_sources(vec![(7, status("s"))]);
        let counters: [Arc<AtomicUsize>; 4] = Default::default();
        let closed = Arc::new(AtomicBool::new(false));
        let source = Scripted {
            // First poll hangs past the 50 ms timeout; the rest are quick.
            delays: vec![Duration::from_millis(500)],
            polls: Arc::clone(&counters[0]),
            in_flight: Arc::clone(&counters[1]),
            max_in_flight: Arc::clone(&counters[2]),
            resets: Arc::clone(&counters[3]),
            closed: Arc::clone(&closed),
        };
        let poller = Poller {
            task_id: 7,
            name: "s".into(),
            interval: Duration::from_millis(100),
            timeout: Duration::from_millis(50),
            labels: BTreeMap::new(),
            store: Arc::clone(&store),
        };
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(poller.run(source, stop_rx));

        let mut waited = 0;
        while store.statuses()[0].polls < 1 && waited < 100 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        let first = store.statuses().remove(0);
        assert_eq!(first.state, SourceState::Down);
        assert_eq!(
            first.last_error.as_ref().map(|e| e.reason),
            Some(ErrorReason::Timeout)
        );
        assert_eq!(first.errors_for(ErrorReason::Timeout), 1);
        let snapshot = store.snapshots().remove(0).1;
        let names: Vec<&str> = snapshot.families().iter().map(|f| f.name()).collect();
        assert_eq!(
            names,
            vec!["scripted_up"],
            "a failed poll serves health only"
        );
        assert_eq!(
            counters[3].load(Ordering::SeqCst),
            1,
            "reset after the timeout"
        );

        // The next polls succeed and replace the health-only snapshot.
        while store.statuses()[0].state != SourceState::Up && waited < 200 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        let snapshot = store.snapshots().remove(0).1;
        assert_eq!(snapshot.families()[0].name(), "scripted_value");
        assert_eq!(snapshot.families()[0].kind(), MetricType::Gauge);

        stop.send(true).unwrap();
        task.await.unwrap();
        assert!(
            closed.load(Ordering::SeqCst),
            "close() runs when the poller stops"
        );
        assert_eq!(
            counters[2].load(Ordering::SeqCst),
            1,
            "polls never overlapped"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopped_pollers_late_publish_is_ignored() {
        let store = Store::new();
        store.set_sources(vec![(1, status("kept"))]);
        store.publish(
            99,
            store::PollOutcome {
                finished: SystemTime::now(),
                duration: Duration::ZERO,
                result: Ok(()),
                snapshot: EncodedSnapshot::default(),
                remote: None,
                next_poll: SystemTime::now(),
                notes: Vec::new(),
                failing: Vec::new(),
                latency_threshold_resolved: None,
            },
        );
        assert_eq!(store.statuses()[0].polls, 0);
        assert_eq!(store.pending(), vec!["kept".to_owned()]);
    }
}
