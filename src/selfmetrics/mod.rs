//! The exporter's own metrics: build info, per-source health, config reloads, remote
//! write, process.
//! Built fresh whenever `/metrics` re-renders, from the store's status (never from a
//! backend).

mod process;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::model::{labels, MetricFamily};
use crate::scheduler::{SourceState, SourceStatus};
use crate::sources::ErrorReason;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const REVISION: &str = match option_env!("STACK_EXPORTER_REVISION") {
    Some(r) => r,
    None => "unknown",
};

/// State of the exporter itself that self-metrics report.
pub struct RuntimeStatus {
    reload_successful: AtomicBool,
    reload_success_unix_ms: AtomicU64,
    /// Families left out of the last render because of a type conflict, per source.
    conflicts: Mutex<BTreeMap<String, usize>>,
    /// The remote-write endpoints' counters.
    pub remote_write: crate::remote_write::Registry,
}

impl Default for RuntimeStatus {
    fn default() -> Self {
        RuntimeStatus {
            reload_successful: AtomicBool::new(true),
            reload_success_unix_ms: AtomicU64::new(unix_ms(SystemTime::now())),
            conflicts: Mutex::new(BTreeMap::new()),
            remote_write: Default::default(),
        }
    }
}

impl RuntimeStatus {
    pub fn record_reload(&self, ok: bool) {
        self.reload_successful.store(ok, Ordering::Release);
        if ok {
            self.reload_success_unix_ms
                .store(unix_ms(SystemTime::now()), Ordering::Release);
        }
    }

    pub fn reload_successful(&self) -> bool {
        self.reload_successful.load(Ordering::Acquire)
    }

    pub fn set_conflicts(&self, per_source: BTreeMap<String, usize>) {
        *self.conflicts.lock().unwrap_or_else(|p| p.into_inner()) = per_source;
    }

    fn conflicts_for(&self, source: &str) -> usize {
        self.conflicts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(source)
            .copied()
            .unwrap_or(0)
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

pub fn collect(statuses: &[SourceStatus], runtime: &RuntimeStatus) -> Vec<MetricFamily> {
    let mut out = Vec::with_capacity(20);
    out.push({
        let mut f = MetricFamily::gauge(
            "stack_exporter_build_info",
            "Version and revision of the running stack_exporter; the value is always 1.",
        );
        f.push(labels(&[("version", VERSION), ("revision", REVISION)]), 1.0);
        f
    });
    out.push(
        MetricFamily::gauge(
            "stack_exporter_config_last_reload_successful",
            "Whether the last configuration load or reload succeeded (1) or not (0).",
        )
        .with_value(if runtime.reload_successful() {
            1.0
        } else {
            0.0
        }),
    );
    out.push(
        MetricFamily::gauge(
            "stack_exporter_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful configuration load or reload.",
        )
        .with_value(runtime.reload_success_unix_ms.load(Ordering::Acquire) as f64 / 1000.0),
    );

    let mut up = MetricFamily::gauge(
        "stack_exporter_source_up",
        "Whether the last poll of the source succeeded (1) or not (0); 0 before the first poll.",
    );
    let mut duration = MetricFamily::gauge(
        "stack_exporter_source_poll_duration_seconds",
        "How long the last poll of the source took, in seconds.",
    );
    let mut last_success = MetricFamily::gauge(
        "stack_exporter_source_last_success_timestamp_seconds",
        "Unix time of the source's last successful poll; 0 if it never succeeded.",
    );
    let mut polls = MetricFamily::counter(
        "stack_exporter_source_polls",
        "Polls of the source, successful or not.",
    );
    let mut errors = MetricFamily::counter(
        "stack_exporter_source_errors",
        "Failed polls of the source, by reason.",
    );
    let mut series = MetricFamily::gauge(
        "stack_exporter_source_series",
        "Series the source's last poll published.",
    );
    let mut dropped = MetricFamily::gauge(
        "stack_exporter_source_series_dropped",
        "Series or families of the source's last poll left out of /metrics, by reason.",
    );
    let mut resolved = MetricFamily::gauge(
        "stack_exporter_latency_threshold_resolved",
        "For an app source: whether its latency histogram has a bucket at the latency threshold (1), or slow requests are counted above the next bound up or not at all (0).",
    );
    for s in statuses {
        let name = s.name.as_str();
        let kind = s.kind.as_str();
        let base = labels(&[("source", name), ("kind", kind)]);
        up.push(
            base.clone(),
            if s.state == SourceState::Up { 1.0 } else { 0.0 },
        );
        if let Some(d) = s.last_duration {
            duration.push(base.clone(), d.as_secs_f64());
        }
        last_success.push(
            base.clone(),
            s.last_success.map(unix_seconds).unwrap_or(0.0),
        );
        polls.push(base.clone(), s.polls as f64);
        for reason in ErrorReason::ALL {
            errors.push(
                labels(&[
                    ("source", name),
                    ("kind", kind),
                    ("reason", reason.as_str()),
                ]),
                s.errors_for(reason) as f64,
            );
        }
        series.push(base.clone(), s.series as f64);
        if let Some(r) = s.latency_threshold_resolved {
            resolved.push(base.clone(), if r { 1.0 } else { 0.0 });
        }
        for (reason, count) in [
            ("duplicate", s.duplicates_dropped),
            ("invalid_name", s.invalid_dropped),
            ("type_conflict", runtime.conflicts_for(name)),
        ] {
            dropped.push(
                labels(&[("source", name), ("kind", kind), ("reason", reason)]),
                count as f64,
            );
        }
    }
    out.extend([up, duration, last_success, polls, errors, series, dropped]);
    if !resolved.samples.is_empty() {
        out.push(resolved);
    }
    runtime.remote_write.collect(&mut out);
    process::collect(&mut out);
    out
}
