//! The latest snapshot and poll status of every source. Pollers write here; the HTTP
//! server only reads. Nothing in here awaits: a reader holds the lock for the time it
//! takes to clone a few `Arc`s.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use crate::exposition::EncodedSnapshot;
use crate::remote_write::SeriesBatch;
use crate::sources::{ErrorReason, PollError, SourceKind, SourceNote};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceState {
    /// Not polled yet since it was (re)configured.
    Pending,
    Up,
    Down,
}

impl SourceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceState::Pending => "pending",
            SourceState::Up => "up",
            SourceState::Down => "down",
        }
    }
}

/// What the status page and self-metrics know about one source.
#[derive(Debug, Clone)]
pub struct SourceStatus {
    pub name: String,
    pub kind: SourceKind,
    pub target: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub state: SourceState,
    pub polls: u64,
    pub errors: [u64; ErrorReason::ALL.len()],
    pub last_poll: Option<SystemTime>,
    pub last_duration: Option<Duration>,
    pub last_success: Option<SystemTime>,
    pub last_error: Option<PollError>,
    pub next_poll: Option<SystemTime>,
    pub series: usize,
    pub duplicates_dropped: usize,
    pub invalid_dropped: usize,
    /// The source's notes after its last poll (`Source::notes`).
    pub notes: Vec<SourceNote>,
    /// What was failing although its last poll succeeded (`Source::failing`).
    pub failing: Vec<String>,
    /// `Source::latency_threshold_resolved` after the last poll.
    pub latency_threshold_resolved: Option<bool>,
}

impl SourceStatus {
    /// The status of a source that has not been polled yet.
    pub fn pending(
        name: impl Into<String>,
        kind: SourceKind,
        target: impl Into<String>,
        interval: Duration,
        timeout: Duration,
    ) -> Self {
        SourceStatus {
            name: name.into(),
            kind,
            target: target.into(),
            interval,
            timeout,
            state: SourceState::Pending,
            polls: 0,
            errors: [0; ErrorReason::ALL.len()],
            last_poll: None,
            last_duration: None,
            last_success: None,
            last_error: None,
            next_poll: None,
            series: 0,
            duplicates_dropped: 0,
            invalid_dropped: 0,
            notes: Vec::new(),
            failing: Vec::new(),
            latency_threshold_resolved: None,
        }
    }

    pub fn errors_for(&self, reason: ErrorReason) -> u64 {
        ErrorReason::ALL
            .iter()
            .position(|r| *r == reason)
            .map(|i| self.errors[i])
            .unwrap_or(0)
    }
}

/// One source's slot in the store.
#[derive(Debug, Clone)]
pub struct SourceEntry {
    /// Which poller task owns this slot; a stopped task's late publish is ignored.
    pub task_id: u64,
    pub status: SourceStatus,
    pub snapshot: Arc<EncodedSnapshot>,
    /// The same poll's series for remote write; `None` when no endpoint is configured
    /// (nothing is built then) or before the first poll.
    pub remote: Option<Arc<SeriesBatch>>,
}

/// The result of one poll, as handed to `Store::publish`.
pub struct PollOutcome {
    pub finished: SystemTime,
    pub duration: Duration,
    pub result: Result<(), PollError>,
    pub snapshot: EncodedSnapshot,
    /// Built only while `Store::remote_write_enabled`.
    pub remote: Option<SeriesBatch>,
    pub next_poll: SystemTime,
    pub notes: Vec<SourceNote>,
    pub failing: Vec<String>,
    pub latency_threshold_resolved: Option<bool>,
}

pub struct Store {
    entries: RwLock<Vec<SourceEntry>>,
    /// Bumped on every change, so readers can tell whether a cached body is current.
    generation: AtomicU64,
    /// The generation again, for tasks that wait for changes (remote write).
    changes: watch::Sender<u64>,
    /// Whether pollers build each poll's `SeriesBatch` (remote write is configured).
    remote_write: AtomicBool,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            entries: RwLock::default(),
            generation: AtomicU64::new(0),
            changes: watch::Sender::new(0),
            remote_write: AtomicBool::new(false),
        }
    }
}

impl Store {
    pub fn new() -> Self {
        Store::default()
    }

    /// Wakes whenever a source publishes or the set of sources changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    pub fn set_remote_write_enabled(&self, on: bool) {
        self.remote_write.store(on, Ordering::Release);
    }

    pub fn remote_write_enabled(&self) -> bool {
        self.remote_write.load(Ordering::Acquire)
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn read(&self) -> RwLockReadGuard<'_, Vec<SourceEntry>> {
        // A poisoned lock only means a writer panicked mid-update of plain data; serving
        // the data is better than failing every scrape from then on.
        self.entries.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Vec<SourceEntry>> {
        self.entries.write().unwrap_or_else(|p| p.into_inner())
    }

    fn bump(&self) {
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        self.changes.send_replace(generation);
    }

    /// Replaces the set of sources, in config order. Entries whose `task_id` is kept are
    /// carried over with their snapshot; the others start out pending.
    pub fn set_sources(&self, sources: Vec<(u64, SourceStatus)>) {
        let mut entries = self.write();
        let mut next = Vec::with_capacity(sources.len());
        for (task_id, status) in sources {
            match entries.iter().position(|e| e.task_id == task_id) {
                Some(i) => next.push(entries.swap_remove(i)),
                None => next.push(SourceEntry {
                    task_id,
                    status,
                    snapshot: Arc::new(EncodedSnapshot::default()),
                    remote: None,
                }),
            }
        }
        *entries = next;
        drop(entries);
        self.bump();
    }

    pub fn publish(&self, task_id: u64, outcome: PollOutcome) {
        let mut entries = self.write();
        let Some(entry) = entries.iter_mut().find(|e| e.task_id == task_id) else {
            return;
        };
        let status = &mut entry.status;
        status.polls += 1;
        status.last_poll = Some(outcome.finished);
        status.last_duration = Some(outcome.duration);
        status.next_poll = Some(outcome.next_poll);
        status.series = outcome.snapshot.series();
        status.duplicates_dropped = outcome.snapshot.duplicates_dropped();
        status.invalid_dropped = outcome.snapshot.invalid_dropped();
        status.notes = outcome.notes;
        status.failing = outcome.failing;
        status.latency_threshold_resolved = outcome.latency_threshold_resolved;
        match outcome.result {
            Ok(()) => {
                status.state = SourceState::Up;
                status.last_success = Some(outcome.finished);
                status.last_error = None;
            }
            Err(error) => {
                status.state = SourceState::Down;
                if let Some(i) = ErrorReason::ALL.iter().position(|r| *r == error.reason) {
                    status.errors[i] += 1;
                }
                status.last_error = Some(error);
            }
        }
        entry.snapshot = Arc::new(outcome.snapshot);
        entry.remote = outcome.remote.map(Arc::new);
        drop(entries);
        self.bump();
    }

    /// Every source's name and snapshot, in config order.
    pub fn snapshots(&self) -> Vec<(String, Arc<EncodedSnapshot>)> {
        self.read()
            .iter()
            .map(|e| (e.status.name.clone(), Arc::clone(&e.snapshot)))
            .collect()
    }

    /// Every source's name, snapshot and remote-write series, in config order.
    pub fn remote_entries(&self) -> Vec<(String, Arc<EncodedSnapshot>, Option<Arc<SeriesBatch>>)> {
        self.read()
            .iter()
            .map(|e| {
                (
                    e.status.name.clone(),
                    Arc::clone(&e.snapshot),
                    e.remote.clone(),
                )
            })
            .collect()
    }

    pub fn statuses(&self) -> Vec<SourceStatus> {
        self.read().iter().map(|e| e.status.clone()).collect()
    }

    /// Names of the sources that have not finished a poll yet.
    pub fn pending(&self) -> Vec<String> {
        self.read()
            .iter()
            .filter(|e| e.status.state == SourceState::Pending)
            .map(|e| e.status.name.clone())
            .collect()
    }
}
