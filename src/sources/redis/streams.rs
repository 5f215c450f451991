//! Stream checks (`check_streams`): length and consumer-group progress of chosen
//! streams from `XINFO STREAM` and `XINFO GROUPS`, under redis_exporter's
//! `redis_stream_*{db,stream}` and `redis_stream_group_*{db,stream,group}` names.
//! Patterns are expanded with `SCAN … TYPE stream` (Redis 6.0+), bounded like key checks.

use std::time::Instant;

use redis::Value;

use super::keys::{self, bytes, int, Found, Report};
use super::RedisSource;
use crate::config::RedisKeyChecks;
use crate::model::{labels, Labels, MetricFamily};

/// Streams per pipeline (two commands each); XINFO replies are small, but a stream can
/// have many groups.
const STREAM_BATCH: usize = 100;

struct Families {
    length: MetricFamily,
    radix_keys: MetricFamily,
    radix_nodes: MetricFamily,
    groups: MetricFamily,
    last_generated: MetricFamily,
    first_entry: MetricFamily,
    last_entry: MetricFamily,
    entries_added: MetricFamily,
    consumers: MetricFamily,
    pending: MetricFamily,
    last_delivered: MetricFamily,
    entries_read: MetricFamily,
    lag: MetricFamily,
}

impl Families {
    fn new() -> Self {
        let g = MetricFamily::gauge;
        Families {
            length: g("redis_stream_length", "The number of entries in the stream."),
            radix_keys: g(
                "redis_stream_radix_tree_keys",
                "Radix tree keys of the stream (memory layout).",
            ),
            radix_nodes: g(
                "redis_stream_radix_tree_nodes",
                "Radix tree nodes of the stream (memory layout).",
            ),
            groups: g("redis_stream_groups", "Consumer groups of the stream."),
            last_generated: g(
                "redis_stream_last_generated_id",
                "The epoch timestamp (ms) of the latest entry ID generated in the stream.",
            ),
            first_entry: g(
                "redis_stream_first_entry_id",
                "The epoch timestamp (ms) of the first entry in the stream; absent when it is empty.",
            ),
            last_entry: g(
                "redis_stream_last_entry_id",
                "The epoch timestamp (ms) of the last entry in the stream; absent when it is empty.",
            ),
            entries_added: MetricFamily::counter(
                "redis_stream_entries_added",
                "Entries ever added to the stream (Redis 7.0+).",
            ),
            consumers: g(
                "redis_stream_group_consumers",
                "Consumers of the consumer group.",
            ),
            pending: g(
                "redis_stream_group_messages_pending",
                "Entries delivered to the group's consumers and not yet acknowledged (XPENDING).",
            ),
            last_delivered: g(
                "redis_stream_group_last_delivered_id",
                "The epoch timestamp (ms) of the last entry delivered to the group.",
            ),
            entries_read: g(
                "redis_stream_group_entries_read",
                "Entries the group has read (Redis 7.0+).",
            ),
            lag: g(
                "redis_stream_group_lag",
                "Entries not yet delivered to the group's consumers (Redis 7.0+; absent when Redis cannot tell).",
            ),
        }
    }

    fn into_vec(self) -> Vec<MetricFamily> {
        vec![
            self.length,
            self.radix_keys,
            self.radix_nodes,
            self.groups,
            self.last_generated,
            self.first_entry,
            self.last_entry,
            self.entries_added,
            self.consumers,
            self.pending,
            self.last_delivered,
            self.entries_read,
            self.lag,
        ]
    }
}

pub(super) async fn collect(
    source: &mut RedisSource,
    config: &RedisKeyChecks,
    deadline: Instant,
    out: &mut Vec<MetricFamily>,
) -> Report {
    let mut report = Report {
        ok: true,
        ..Report::default()
    };
    let found = keys::expand(
        source,
        "streams",
        &config.streams,
        Some("stream"),
        deadline,
        &mut report,
    )
    .await;
    let mut f = Families::new();
    for batch in keys::batches(&found, STREAM_BATCH) {
        if Instant::now() >= deadline {
            report.truncated = true;
            break;
        }
        let Some(db) = batch.first().map(|s| s.db) else {
            continue;
        };
        let mut commands = Vec::with_capacity(batch.len() * 2);
        for s in batch {
            let mut c = redis::cmd("XINFO");
            c.arg("STREAM").arg(&s.key);
            commands.push(c);
            let mut c = redis::cmd("XINFO");
            c.arg("GROUPS").arg(&s.key);
            commands.push(c);
        }
        let replies = match source.pipeline_in_db(db, commands).await {
            Ok(r) => r,
            Err(m) => {
                report.ok = false;
                source.key_check_problem("streams", &m);
                continue;
            }
        };
        for (s, pair) in batch.iter().zip(replies.chunks(2)) {
            let [info, groups] = pair else { continue };
            match stream(&mut f, s, info, groups) {
                Ok(true) => report.measured += 1,
                // Gone (or never there): like a missing key, not a problem.
                Ok(false) => {}
                Err(m) => {
                    report.ok = false;
                    source.key_check_problem("streams", &m);
                }
            }
        }
    }
    if report.truncated {
        source.key_check_problem(
            "streams",
            &format!(
                "stream checks stopped at max_keys {} or time_budget {:?}; some streams were not measured",
                config.options.max_keys, config.options.time_budget
            ),
        );
    }
    out.extend(f.into_vec());
    report
}

/// Adds one stream's samples; `Ok(false)` when the stream does not exist.
fn stream(f: &mut Families, s: &Found, info: &Value, groups: &Value) -> Result<bool, String> {
    if let Value::ServerError(e) = info {
        let text = e.to_string();
        if text.contains("no such key") {
            return Ok(false);
        }
        return Err(format!("XINFO STREAM `{}`: {text}", s.key_label()));
    }
    let l: Labels = labels(&[("db", &s.db_label()), ("stream", &s.key_label())]);
    let info = fields(info)
        .ok_or_else(|| format!("XINFO STREAM `{}`: unexpected reply shape", s.key_label()))?;
    let get = |name: &str| info.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
    let Some(length) = get("length").and_then(int) else {
        return Err(format!("XINFO STREAM `{}`: no length", s.key_label()));
    };
    f.length.push(l.clone(), length as f64);
    let ints = [
        ("radix-tree-keys", &mut f.radix_keys),
        ("radix-tree-nodes", &mut f.radix_nodes),
        ("groups", &mut f.groups),
        ("entries-added", &mut f.entries_added),
    ];
    for (name, family) in ints {
        if let Some(n) = get(name).and_then(int) {
            family.push(l.clone(), n as f64);
        }
    }
    if let Some(ms) = get("last-generated-id").and_then(id_ms) {
        f.last_generated.push(l.clone(), ms);
    }
    // first-entry / last-entry are `[id, [field, value, ...]]`, or nil when empty.
    for (name, family) in [
        ("first-entry", &mut f.first_entry),
        ("last-entry", &mut f.last_entry),
    ] {
        if let Some(Value::Array(entry)) = get(name) {
            if let Some(ms) = entry.first().and_then(id_ms) {
                family.push(l.clone(), ms);
            }
        }
    }

    let Value::Array(groups) = groups else {
        let why = match groups {
            Value::ServerError(e) => e.to_string(),
            _ => "unexpected reply shape".to_owned(),
        };
        return Err(format!("XINFO GROUPS `{}`: {why}", s.key_label()));
    };
    for g in groups {
        let Some(g) = fields(g) else { continue };
        let get = |name: &str| g.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
        let Some(name) = get("name").and_then(bytes) else {
            continue;
        };
        let mut gl = l.clone();
        gl.push((
            "group".to_owned(),
            String::from_utf8_lossy(name).into_owned(),
        ));
        // entries-read and lag are nil where Redis cannot tell (lag after deletions
        // in the range it would count): left out rather than reported as 0.
        for (field, family) in [
            ("consumers", &mut f.consumers),
            ("pending", &mut f.pending),
            ("entries-read", &mut f.entries_read),
            ("lag", &mut f.lag),
        ] {
            if let Some(n) = get(field).and_then(int) {
                family.push(gl.clone(), n as f64);
            }
        }
        if let Some(ms) = get("last-delivered-id").and_then(id_ms) {
            f.last_delivered.push(gl, ms);
        }
    }
    Ok(true)
}

/// Field/value pairs of an XINFO reply: a flat array in RESP2, a map in RESP3.
fn fields(v: &Value) -> Option<Vec<(String, &Value)>> {
    match v {
        Value::Array(items) if items.len() % 2 == 0 => items
            .chunks(2)
            .map(|kv| Some((String::from_utf8_lossy(bytes(&kv[0])?).into_owned(), &kv[1])))
            .collect(),
        Value::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| Some((String::from_utf8_lossy(bytes(k)?).into_owned(), v)))
            .collect(),
        _ => None,
    }
}

/// The milliseconds part of a stream ID (`1700000000000-3`).
fn id_ms(v: &Value) -> Option<f64> {
    let text = std::str::from_utf8(bytes(v)?).ok()?;
    let ms = text.split_once('-').map_or(text, |(ms, _)| ms);
    ms.parse::<u64>().ok().map(|n| n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn stream_ids_and_fields() {
        assert_eq!(id_ms(&bulk("1700000000123-4")), Some(1_700_000_000_123.0));
        assert_eq!(id_ms(&bulk("0-0")), Some(0.0));
        assert_eq!(id_ms(&bulk("x")), None);
        let v = Value::Array(vec![bulk("length"), Value::Int(3), bulk("lag"), Value::Nil]);
        let f = fields(&v).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(int(f[0].1), Some(3));
        assert_eq!(int(f[1].1), None);
        assert!(fields(&Value::Array(vec![bulk("odd")])).is_none());
    }

    #[test]
    fn a_missing_stream_is_not_a_problem_and_lag_nil_is_left_out() {
        let s = Found {
            db: 0,
            key: b"events".to_vec(),
            exact: true,
        };
        let mut f = Families::new();
        let info = Value::Array(vec![
            bulk("length"),
            Value::Int(5),
            bulk("groups"),
            Value::Int(1),
            bulk("last-generated-id"),
            bulk("1700000000000-0"),
            bulk("first-entry"),
            Value::Nil,
        ]);
        let groups = Value::Array(vec![Value::Array(vec![
            bulk("name"),
            bulk("g1"),
            bulk("consumers"),
            Value::Int(2),
            bulk("pending"),
            Value::Int(1),
            bulk("last-delivered-id"),
            bulk("1700000000000-0"),
            bulk("lag"),
            Value::Nil,
        ])]);
        assert_eq!(stream(&mut f, &s, &info, &groups), Ok(true));
        assert_eq!(f.length.samples[0].value, 5.0);
        assert_eq!(f.consumers.samples[0].value, 2.0);
        assert!(f.lag.samples.is_empty());
        assert!(f.first_entry.samples.is_empty());
    }
}
