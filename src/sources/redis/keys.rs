//! Key checks (`check_keys`): the size of chosen keys, found by name or by SCAN pattern,
//! under redis_exporter's `redis_key_size{db,key}` / `redis_key_value{db,key}`; and the
//! entry point that runs every key-level check of a poll (queues, keys, streams).
//!
//! Databases other than the URL's are reached on the source's one shared, multiplexed
//! connection by putting `SELECT <db>` first and `SELECT <url db>` last in the same
//! pipeline. The redis crate hands a pipeline to its connection task as one packed
//! buffer, written contiguously, and Redis runs one connection's commands in order, so
//! no other command of ours can run between the two SELECTs and the connection is back
//! in the URL's database after every round trip, even when the poll is cancelled after
//! sending (the server still runs the whole buffer). A second connection per database
//! would double what operators see in `connected_clients` for no gain.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use redis::Value;

use super::RedisSource;
use crate::config::{KeyRef, RedisKeyChecks};
use crate::model::{labels, MetricFamily};
use crate::sources::LogOnce;
use crate::sources::{ErrorReason, PollError};

/// Keys measured per pipeline: large enough that 1000 keys take a few round trips,
/// small enough that one reply stays small and one round trip stays short.
const MEASURE_BATCH: usize = 500;
/// `redis_key_value` is read only from strings up to this long (with a bounded
/// GETRANGE), so that a check on a big string never transfers it.
const MAX_VALUE_LEN: i64 = 64;

/// The key-check state a `RedisSource` keeps between polls.
pub(super) struct KeyChecks {
    // Shared so a poll can hold the config while borrowing the source mutably.
    config: Arc<RedisKeyChecks>,
    /// The URL's database, where the shared connection is always left.
    url_db: u32,
    /// Problems already logged at warn level; repeats go to debug.
    logged: LogOnce,
}

impl KeyChecks {
    pub(super) fn new(config: &RedisKeyChecks, client: Result<&redis::Client, &String>) -> Self {
        let url_db = client
            .ok()
            .map(|c| c.get_connection_info().redis_settings().db())
            .and_then(|db| u32::try_from(db).ok())
            .unwrap_or(0);
        KeyChecks {
            config: Arc::new(config.clone()),
            url_db,
            logged: LogOnce::default(),
        }
    }
}

/// Runs the configured queue presets, key checks and stream checks. Never fails the
/// poll: each part reports `redis_scrape_collector_success{collector}` and logs its
/// problems once.
pub(super) async fn collect(source: &mut RedisSource, out: &mut Vec<MetricFamily>) {
    let config = source.key_checks.config.clone();
    if config.is_empty() {
        return;
    }
    let mut success = MetricFamily::gauge(
        "redis_scrape_collector_success",
        "Whether the collector succeeded (1) or not (0) in the last poll.",
    );
    let mut duration = MetricFamily::gauge(
        "redis_scrape_collector_duration_seconds",
        "How long the collector took in the last poll, in seconds.",
    );
    let mut truncated = MetricFamily::gauge(
        "redis_key_checks_truncated",
        "Whether the collector stopped at key_checks.max_keys or key_checks.time_budget (1) in the last poll, leaving keys unmeasured, or not (0).",
    );
    let mut matched = MetricFamily::gauge(
        "redis_key_checks_keys",
        "Keys the collector found (exact keys that exist and pattern matches) and measured in the last poll.",
    );
    let mut record = |name: &str, started: Instant, ok: bool| {
        let l = labels(&[("collector", name)]);
        success.push(l.clone(), if ok { 1.0 } else { 0.0 });
        duration.push(l, started.elapsed().as_secs_f64());
    };

    // Queues first: a fixed, small set of keys in one round trip, and what most
    // deployments alert on.
    if !config.queues.is_empty() {
        let started = Instant::now();
        let ok = super::queues::collect(source, &config.queues, out).await;
        record("queues", started, ok);
    }
    // One budget for keys and streams together, so the pair cannot take twice as long.
    let deadline = Instant::now() + config.options.time_budget;
    if !config.keys.is_empty() {
        let started = Instant::now();
        let report = check_keys(source, &config, deadline, out).await;
        record("keys", started, report.ok);
        let l = labels(&[("collector", "keys")]);
        truncated.push(l.clone(), if report.truncated { 1.0 } else { 0.0 });
        matched.push(l, report.measured as f64);
    }
    if !config.streams.is_empty() {
        let started = Instant::now();
        let report = super::streams::collect(source, &config, deadline, out).await;
        record("streams", started, report.ok);
        let l = labels(&[("collector", "streams")]);
        truncated.push(l.clone(), if report.truncated { 1.0 } else { 0.0 });
        matched.push(l, report.measured as f64);
    }
    out.extend([success, duration, truncated, matched]);
}

/// What one bounded check did.
#[derive(Debug, Default)]
pub(super) struct Report {
    pub ok: bool,
    pub truncated: bool,
    pub measured: usize,
}

/// A key to measure: raw bytes for the commands (keys need not be UTF-8), text for the
/// label.
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub db: u32,
    pub key: Vec<u8>,
    /// Listed by name (not matched by a pattern): may be reported missing.
    pub exact: bool,
}

impl Found {
    pub fn db_label(&self) -> String {
        format!("db{}", self.db)
    }

    pub fn key_label(&self) -> String {
        String::from_utf8_lossy(&self.key).into_owned()
    }
}

impl RedisSource {
    /// Sends one pipeline whose commands may fail one by one (their errors come back as
    /// `Value::ServerError`); a broken connection is dropped so the next poll reconnects.
    async fn pipeline(&mut self, pipe: &redis::Pipeline) -> Result<Vec<Value>, PollError> {
        let mut conn = self.connection().await?;
        match pipe.query_async::<Vec<Value>>(&mut conn).await {
            Ok(v) => Ok(v),
            Err(e) => {
                let error = self.classify(&e, "querying");
                if matches!(error.reason, ErrorReason::Connect | ErrorReason::Timeout) {
                    self.connection = None;
                }
                Err(error)
            }
        }
    }

    /// Runs `commands` in database `db` in one round trip (see the module docs) and
    /// returns their replies, one per command. `Err` when the database could not be
    /// selected; the connection is dropped if it could not be switched back.
    pub(super) async fn pipeline_in_db(
        &mut self,
        db: u32,
        commands: Vec<redis::Cmd>,
    ) -> Result<Vec<Value>, String> {
        let url_db = self.key_checks.url_db;
        let switch = db != url_db;
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        if switch {
            pipe.cmd("SELECT").arg(db);
        }
        let count = commands.len();
        for c in commands {
            pipe.add_command(c);
        }
        if switch {
            pipe.cmd("SELECT").arg(url_db);
        }
        let mut values = self.pipeline(&pipe).await.map_err(|e| e.message)?;
        let expected = count + if switch { 2 } else { 0 };
        if values.len() != expected {
            return Err(format!(
                "expected {expected} replies to a pipeline, got {}",
                values.len()
            ));
        }
        if switch {
            if let Some(Value::ServerError(e)) = values.pop() {
                // Every later command would run in the wrong database.
                self.connection = None;
                return Err(format!(
                    "SELECT {url_db} (back to the URL's database) failed: {e}"
                ));
            }
            if let Value::ServerError(e) = values.remove(0) {
                return Err(format!("SELECT {db} failed: {e}"));
            }
        }
        Ok(values)
    }

    pub(super) fn key_checks_url_db(&self) -> u32 {
        self.key_checks.url_db
    }

    /// Logs a key-check problem at warn level the first time, at debug afterwards.
    pub(super) fn key_check_problem(&mut self, part: &str, message: &str) {
        let message = self.scrubber.scrub(message);
        self.key_checks.logged.warn(
            format!("{part}:{message}"),
            &self.display_url,
            &format!("{part}: {message}"),
        );
    }
}

/// The keys named by `entries`: exact keys first (so that patterns cannot crowd them
/// out), then SCAN matches, at most `max_keys` in all, deduplicated, and only within
/// the first half of the time left until `deadline`. `type_filter` (`stream`) makes SCAN return only keys of
/// that type. Returns the keys and whether the list was cut short.
pub(super) async fn expand(
    source: &mut RedisSource,
    part: &str,
    entries: &[KeyRef],
    type_filter: Option<&str>,
    deadline: Instant,
    report: &mut Report,
) -> Vec<Found> {
    let options = source.key_checks.config.options.clone();
    // SCAN may use half of what is left, so that the keys it finds can still be
    // measured: a small scan_count over a large keyspace would otherwise spend the
    // whole budget finding keys and report none.
    let now = Instant::now();
    let deadline = now + deadline.saturating_duration_since(now) / 2;
    let mut seen: HashSet<(u32, Vec<u8>)> = HashSet::new();
    let mut found: Vec<Found> = Vec::new();
    for e in entries.iter().filter(|e| !e.pattern) {
        if found.len() >= options.max_keys {
            report.truncated = true;
            return found;
        }
        if seen.insert((e.db, e.key.as_bytes().to_vec())) {
            found.push(Found {
                db: e.db,
                key: e.key.as_bytes().to_vec(),
                exact: true,
            });
        }
    }
    for e in entries.iter().filter(|e| e.pattern) {
        let mut cursor: u64 = 0;
        loop {
            if found.len() >= options.max_keys || Instant::now() >= deadline {
                report.truncated = true;
                return found;
            }
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&e.key)
                .arg("COUNT")
                .arg(options.scan_count);
            if let Some(t) = type_filter {
                scan.arg("TYPE").arg(t);
            }
            let reply = match source.pipeline_in_db(e.db, vec![scan]).await {
                Ok(mut v) => v.pop(),
                Err(m) => {
                    report.ok = false;
                    source.key_check_problem(part, &format!("SCAN for `{}`: {m}", e.key));
                    break;
                }
            };
            let Some((next, keys)) = reply.as_ref().and_then(parse_scan) else {
                report.ok = false;
                let what = match &reply {
                    Some(Value::ServerError(err)) => err.to_string(),
                    _ => "an unexpected reply".to_owned(),
                };
                source.key_check_problem(part, &format!("SCAN for `{}`: {what}", e.key));
                break;
            };
            for key in keys {
                if found.len() >= options.max_keys {
                    report.truncated = true;
                    return found;
                }
                if seen.insert((e.db, key.clone())) {
                    found.push(Found {
                        db: e.db,
                        key,
                        exact: false,
                    });
                }
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    found
}

/// `[cursor, [key, ...]]`.
fn parse_scan(v: &Value) -> Option<(u64, Vec<Vec<u8>>)> {
    let Value::Array(parts) = v else { return None };
    let [cursor, Value::Array(keys)] = parts.as_slice() else {
        return None;
    };
    let cursor = std::str::from_utf8(bytes(cursor)?).ok()?.parse().ok()?;
    let keys = keys.iter().filter_map(|k| bytes(k).map(<[u8]>::to_vec));
    Some((cursor, keys.collect()))
}

pub(super) fn bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        Value::VerbatimString { text, .. } => Some(text.as_bytes()),
        _ => None,
    }
}

pub(super) fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(n) => Some(*n),
        Value::BulkString(_) | Value::SimpleString(_) => {
            std::str::from_utf8(bytes(v)?).ok()?.parse().ok()
        }
        _ => None,
    }
}

/// Consecutive keys of the same database, at most `MEASURE_BATCH` each.
pub(super) fn batches(found: &[Found], size: usize) -> Vec<&[Found]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < found.len() {
        let db = found[start].db;
        let mut end = start;
        while end < found.len() && end - start < size && found[end].db == db {
            end += 1;
        }
        out.push(&found[start..end]);
        start = end;
    }
    out
}

/// How a key of a given TYPE is measured.
fn size_command(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "string" => "STRLEN",
        "list" => "LLEN",
        "set" => "SCARD",
        "zset" => "ZCARD",
        "hash" => "HLEN",
        "stream" => "XLEN",
        _ => return None,
    })
}

async fn check_keys(
    source: &mut RedisSource,
    config: &RedisKeyChecks,
    deadline: Instant,
    out: &mut Vec<MetricFamily>,
) -> Report {
    let mut report = Report {
        ok: true,
        ..Report::default()
    };
    let found = expand(source, "keys", &config.keys, None, deadline, &mut report).await;
    let mut size = MetricFamily::gauge(
        "redis_key_size",
        "The length or size of the key: LLEN, SCARD, ZCARD, HLEN, XLEN or STRLEN by its type.",
    );
    let mut value = MetricFamily::gauge(
        "redis_key_value",
        "The value of the key, for string keys whose value is a number (up to 64 bytes).",
    );
    for batch in batches(&found, MEASURE_BATCH) {
        if Instant::now() >= deadline {
            report.truncated = true;
            break;
        }
        if let Err(m) = measure(source, config, batch, &mut size, &mut value, &mut report).await {
            report.ok = false;
            source.key_check_problem("keys", &m);
        }
    }
    if report.truncated {
        source.key_check_problem(
            "keys",
            &format!(
                "key checks stopped at max_keys {} or time_budget {:?}; some keys were not measured",
                config.options.max_keys, config.options.time_budget
            ),
        );
    }
    out.push(size);
    out.push(value);
    report
}

/// Two round trips for one batch: TYPE of every key, then the size command each type
/// needs (plus a bounded GETRANGE for strings, for `redis_key_value`).
async fn measure(
    source: &mut RedisSource,
    config: &RedisKeyChecks,
    batch: &[Found],
    size: &mut MetricFamily,
    value: &mut MetricFamily,
    report: &mut Report,
) -> Result<(), String> {
    let Some(db) = batch.first().map(|f| f.db) else {
        return Ok(());
    };
    let types: Vec<redis::Cmd> = batch
        .iter()
        .map(|f| {
            let mut c = redis::cmd("TYPE");
            c.arg(&f.key);
            c
        })
        .collect();
    let types = source.pipeline_in_db(db, types).await?;
    let mut commands = Vec::new();
    // (key, commands sent for it: 0 missing or unmeasurable, 1 size, 2 size + value)
    let mut plan: Vec<(&Found, usize)> = Vec::with_capacity(batch.len());
    for (f, t) in batch.iter().zip(&types) {
        let kind = bytes(t).map(String::from_utf8_lossy).unwrap_or_default();
        let Some(cmd) = size_command(&kind) else {
            if kind == "none" && f.exact && config.options.report_missing {
                size.push(
                    labels(&[("db", &f.db_label()), ("key", &f.key_label())]),
                    0.0,
                );
            } else if kind != "none" {
                // A module type (ReJSON-RL, ...) or an error reply: nothing to measure.
                tracing::debug!(redis = %source.display_url, key = %f.key_label(), "key of type {kind:?} not measured");
            }
            continue;
        };
        let mut c = redis::cmd(cmd);
        c.arg(&f.key);
        commands.push(c);
        let mut sent = 1;
        if kind == "string" {
            let mut c = redis::cmd("GETRANGE");
            c.arg(&f.key).arg(0).arg(MAX_VALUE_LEN - 1);
            commands.push(c);
            sent = 2;
        }
        plan.push((f, sent));
    }
    if commands.is_empty() {
        return Ok(());
    }
    let replies = source.pipeline_in_db(db, commands).await?;
    let mut replies = replies.iter();
    for (f, sent) in plan {
        let len = replies.next().and_then(int);
        let text = if sent == 2 { replies.next() } else { None };
        // A key deleted or retyped between the two round trips answers 0 or WRONGTYPE:
        // left out rather than reported with a size it no longer has.
        let Some(len) = len else { continue };
        let l = labels(&[("db", &f.db_label()), ("key", &f.key_label())]);
        if let Some(n) = text
            .and_then(bytes)
            .filter(|_| len <= MAX_VALUE_LEN)
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|s| s.parse::<f64>().ok())
        {
            value.push(l.clone(), n);
        }
        size.push(l, len as f64);
        report.measured += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_replies() {
        let v = Value::Array(vec![
            Value::BulkString(b"17".to_vec()),
            Value::Array(vec![
                Value::BulkString(b"a".to_vec()),
                Value::BulkString(vec![0xff]),
            ]),
        ]);
        let (cursor, keys) = parse_scan(&v).unwrap();
        assert_eq!(cursor, 17);
        assert_eq!(keys, vec![b"a".to_vec(), vec![0xff]]);
        assert!(parse_scan(&Value::Nil).is_none());
        assert!(parse_scan(&Value::Array(vec![Value::Int(1)])).is_none());
    }

    #[test]
    fn batches_split_by_db_and_size() {
        let f = |db| Found {
            db,
            key: b"k".to_vec(),
            exact: true,
        };
        let found = vec![f(0), f(0), f(0), f(2), f(2), f(0)];
        let sizes: Vec<(u32, usize)> = batches(&found, 2)
            .iter()
            .map(|b| (b[0].db, b.len()))
            .collect();
        assert_eq!(sizes, vec![(0, 2), (0, 1), (2, 2), (0, 1)]);
        assert!(batches(&[], 2).is_empty());
    }

    #[test]
    fn types_map_to_size_commands() {
        assert_eq!(size_command("list"), Some("LLEN"));
        assert_eq!(size_command("stream"), Some("XLEN"));
        assert_eq!(size_command("none"), None);
        assert_eq!(size_command("ReJSON-RL"), None);
    }
}
