//! The latest snapshot and poll status of every source. Pollers write here; the HTTP
//! server only reads. Nothing in here awaits: a reader holds the lock for the time it
//! takes to clone a few `Arc`s.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime};

use crate::exposition::EncodedSnapshot;
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
}

/// The result of one poll, as handed to `Store::publish`.
pub struct PollOutcome {
    pub finished: SystemTime,
    pub duration: Duration,
    pub result: Result<(), PollError>,
    pub snapshot: EncodedSnapshot,
    pub next_poll: SystemTime,
    pub notes: Vec<SourceNote>,
}

#[derive(Default)]
pub struct Store {
    entries: RwLock<Vec<SourceEntry>>,
    /// Bumped on every change, so readers can tell whether a cached body is current.
    generation: AtomicU64,
}

impl Store {
    pub fn new() -> Self {
        Store::default()
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
        self.generation.fetch_add(1, Ordering::AcqRel);
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
