//! Validation of the Redis-only parts of a source: `check_keys`, `check_streams`,
//! `key_checks` and `queues`. A child of `validate` so it can use the `Builder` directly.

use std::ops::RangeInclusive;
use std::time::Duration;

use super::super::schema::{Dur, Flag, RawKeyChecks, RawQueue, Text};
use super::super::{
    KeyCheckOptions, KeyRef, QueueLibrary, QueuePreset, RedisKeyChecks, SourceCommon,
};
use super::{fmt_duration, Builder, FieldPath};

const MAX_KEYS: RangeInclusive<usize> = 1..=100_000;
const SCAN_COUNT: RangeInclusive<usize> = 1..=100_000;
/// Below this a budget would stop most polls after their first SCAN.
const MIN_TIME_BUDGET: Duration = Duration::from_millis(10);

/// The raw Redis fields this file validates, taken out of `RawRedis` by the caller.
pub(super) struct RawRedisChecks {
    pub check_keys: Option<Vec<Text>>,
    pub check_streams: Option<Vec<Text>>,
    pub key_checks: Option<RawKeyChecks>,
    pub queues: Option<Vec<RawQueue>>,
}

impl Builder {
    /// `timing_ok` is false when the source's own interval or timeout was rejected:
    /// comparing the time budget against a fallback timeout would only confuse.
    pub(super) fn redis_key_checks(
        &mut self,
        raw: RawRedisChecks,
        source: &SourceCommon,
        timing_ok: bool,
        p: &FieldPath,
    ) -> RedisKeyChecks {
        RedisKeyChecks {
            keys: self.key_refs(raw.check_keys, &p.key("check_keys")),
            streams: self.key_refs(raw.check_streams, &p.key("check_streams")),
            options: self.key_check_options(raw.key_checks, source, timing_ok, p),
            queues: self.queue_presets(raw.queues, &p.key("queues")),
        }
    }

    fn key_refs(&mut self, raw: Option<Vec<Text>>, p: &FieldPath) -> Vec<KeyRef> {
        let mut out: Vec<KeyRef> = Vec::new();
        for (i, Text(text)) in raw.unwrap_or_default().into_iter().enumerate() {
            match KeyRef::parse(&text) {
                Err(m) => self.issue(
                    p.index(i),
                    format!("{m}; write a key or glob pattern, optionally after a database number, e.g. \"queue:*\" or \"2:jobs\""),
                ),
                Ok(k) if out.contains(&k) => self.issue(
                    p.index(i),
                    format!("`{text}` is listed twice; list each key or pattern once"),
                ),
                Ok(k) => out.push(k),
            }
        }
        out
    }

    fn key_check_options(
        &mut self,
        raw: Option<RawKeyChecks>,
        source: &SourceCommon,
        timing_ok: bool,
        p: &FieldPath,
    ) -> KeyCheckOptions {
        let mut out = KeyCheckOptions::default();
        let Some(raw) = raw else {
            // The default budget must still fit a short source timeout.
            out.time_budget = out.time_budget.min(source.timeout);
            return out;
        };
        let p = p.key("key_checks");
        if let Some(n) = self.ranged(raw.max_keys, &p, "max_keys", MAX_KEYS, out.max_keys) {
            out.max_keys = n;
        }
        if let Some(n) = self.ranged(raw.scan_count, &p, "scan_count", SCAN_COUNT, out.scan_count) {
            out.scan_count = n;
        }
        match raw.time_budget {
            None => out.time_budget = out.time_budget.min(source.timeout),
            Some(Dur(d)) if d < MIN_TIME_BUDGET => self.issue(
                p.key("time_budget"),
                format!(
                    "time_budget {} is too short; the minimum is {}",
                    fmt_duration(d),
                    fmt_duration(MIN_TIME_BUDGET)
                ),
            ),
            Some(Dur(d)) if timing_ok && d > source.timeout => self.issue(
                p.key("time_budget"),
                format!(
                    "time_budget {} is longer than the source's timeout {}; the whole poll is cut off at the timeout, so the budget must fit inside it (and leave room for the rest of the poll)",
                    fmt_duration(d),
                    fmt_duration(source.timeout)
                ),
            ),
            Some(Dur(d)) => out.time_budget = d,
        }
        if let Some(Flag(on)) = raw.report_missing {
            out.report_missing = on;
        }
        out
    }

    fn queue_presets(&mut self, raw: Option<Vec<RawQueue>>, p: &FieldPath) -> Vec<QueuePreset> {
        let mut out: Vec<QueuePreset> = Vec::new();
        for (i, q) in raw.unwrap_or_default().into_iter().enumerate() {
            let at = p.index(i);
            let Some(preset) = self.queue_preset(q, &at) else {
                continue;
            };
            if out.contains(&preset) {
                self.issue(
                    at.key("name"),
                    format!(
                        "{} queue `{}` is listed twice; list each queue once",
                        preset.library.as_str(),
                        preset.name
                    ),
                );
                continue;
            }
            // Sidekiq's and Celery's global sets (retry, dead, unacked, ...) are reported
            // once per library with queue="*"; two prefixes would make two such series
            // with the same labels.
            let global_clash =
                matches!(preset.library, QueueLibrary::Sidekiq | QueueLibrary::Celery)
                    && out
                        .iter()
                        .any(|o| o.library == preset.library && o.prefix != preset.prefix);
            if global_clash {
                self.issue(
                    at.key("prefix"),
                    format!(
                        "all {} queues of one source must share one prefix (their global sets are reported once, as queue=\"*\"); use another source for the other prefix",
                        preset.library.as_str()
                    ),
                );
                continue;
            }
            out.push(preset);
        }
        out
    }

    fn queue_preset(&mut self, raw: RawQueue, p: &FieldPath) -> Option<QueuePreset> {
        let Text(library) = raw.library;
        let Some(library) = QueueLibrary::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(library.trim()))
        else {
            let names: Vec<&str> = QueueLibrary::ALL.iter().map(|l| l.as_str()).collect();
            self.issue(
                p.key("library"),
                format!(
                    "unknown queue library `{library}`; expected one of {}",
                    names.join(", ")
                ),
            );
            return None;
        };
        let Text(name) = raw.name;
        if name.is_empty() {
            self.issue(p.key("name"), "queue name must not be empty");
            return None;
        }
        let prefix = match raw.prefix {
            None => library.default_prefix().to_owned(),
            Some(Text(_)) if library == QueueLibrary::Rq => {
                self.issue(
                    p.key("prefix"),
                    "rq has no key prefix setting (its keys always start with rq:); remove `prefix`",
                );
                return None;
            }
            Some(Text(prefix)) if prefix.is_empty() && library == QueueLibrary::BullMq => {
                self.issue(
                    p.key("prefix"),
                    "a BullMQ prefix must not be empty; leave it out for the default `bull`",
                );
                return None;
            }
            Some(Text(prefix)) => prefix,
        };
        Some(QueuePreset {
            library,
            name,
            prefix,
        })
    }
}
