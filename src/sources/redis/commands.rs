//! The optional commands beside `INFO` (`CONFIG GET`, `SLOWLOG`, `LATENCY LATEST`,
//! `CLUSTER INFO`) and the families built from their replies. Any of them may be
//! refused by a server (renamed away, ACL, managed provider): the source then skips it
//! for the rest of the connection, see `mod.rs`.

use redis::Value;

use super::fields::{self, CLUSTER_FIELDS};
use super::info::table_families;
use crate::model::{labels, MetricFamily};

/// A command the source can do without.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Optional {
    /// `INFO ALL` (else plain `INFO`, which lacks commandstats and friends).
    InfoAll,
    ConfigGet,
    SlowlogLen,
    SlowlogGet,
    LatencyLatest,
    ClusterInfo,
}

impl Optional {
    pub const ALL: [Optional; 6] = [
        Optional::InfoAll,
        Optional::ConfigGet,
        Optional::SlowlogLen,
        Optional::SlowlogGet,
        Optional::LatencyLatest,
        Optional::ClusterInfo,
    ];

    /// The `cmd` label: the command as commandstats and ACL rules name it.
    pub fn label(self) -> &'static str {
        match self {
            Optional::InfoAll => "info|all",
            Optional::ConfigGet => "config|get",
            Optional::SlowlogLen => "slowlog|len",
            Optional::SlowlogGet => "slowlog|get",
            Optional::LatencyLatest => "latency|latest",
            Optional::ClusterInfo => "cluster|info",
        }
    }
}

/// Parameters read with `CONFIG GET`.
const CONFIG_PARAMETERS: [&str; 4] = ["maxmemory", "maxclients", "io-threads", "databases"];

/// `CONFIG GET` for the parameters we need: one call naming them all on Redis 7+, `*`
/// before (older servers take one pattern only, and several calls would cost more
/// round trips than the larger reply).
pub(super) fn config_get(major_version: Option<u32>) -> redis::Cmd {
    let mut cmd = redis::cmd("CONFIG");
    cmd.arg("GET");
    if major_version.is_some_and(|v| v >= 7) {
        for p in CONFIG_PARAMETERS {
            cmd.arg(p);
        }
    } else {
        cmd.arg("*");
    }
    cmd
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Double(d) => Some(d.to_string()),
        _ => None,
    }
}

fn int(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Double(d) => Some(*d),
        other => text(other).and_then(|t| fields::parse_number(&t)),
    }
}

/// Name/value pairs of a `CONFIG GET` reply: a flat array in RESP2, a map in RESP3.
pub(super) fn config_pairs(reply: &Value) -> Vec<(String, String)> {
    match reply {
        Value::Array(items) => items
            .chunks_exact(2)
            .filter_map(|kv| Some((text(&kv[0])?, text(&kv[1])?)))
            .collect(),
        Value::Map(items) => items
            .iter()
            .filter_map(|(k, v)| Some((text(k)?, text(v)?)))
            .collect(),
        _ => Vec::new(),
    }
}

/// `redis_config_maxmemory`, `redis_config_maxclients`, `redis_config_io_threads`.
pub(super) fn config_families(pairs: &[(String, String)], out: &mut Vec<MetricFamily>) {
    for (param, metric, help) in [
        (
            "maxmemory",
            "redis_config_maxmemory",
            "The maxmemory setting, in bytes (0: no limit).",
        ),
        (
            "maxclients",
            "redis_config_maxclients",
            "The maxclients setting.",
        ),
        (
            "io-threads",
            "redis_config_io_threads",
            "The io-threads setting.",
        ),
    ] {
        if let Some(v) = pairs
            .iter()
            .find(|(k, _)| k == param)
            .and_then(|(_, v)| fields::parse_number(v))
        {
            out.push(MetricFamily::gauge(metric, help).with_value(v));
        }
    }
}

pub(super) fn config_databases(pairs: &[(String, String)]) -> Option<usize> {
    pairs
        .iter()
        .find(|(k, _)| k == "databases")
        .and_then(|(_, v)| v.trim().parse().ok())
}

/// `SLOWLOG LEN` → `redis_slowlog_length`.
pub(super) fn slowlog_len(reply: &Value, out: &mut Vec<MetricFamily>) -> bool {
    let Some(n) = int(reply) else { return false };
    out.push(MetricFamily::gauge("redis_slowlog_length", "Total slowlog").with_value(n));
    true
}

/// `SLOWLOG GET 1` → id and duration of the newest entry (0 and 0 when the log is
/// empty, as redis_exporter reports them). Entry: `[id, unix time, duration µs, args…]`.
pub(super) fn slowlog_last(reply: &Value, out: &mut Vec<MetricFamily>) -> bool {
    let Value::Array(entries) = reply else {
        return false;
    };
    let (id, duration_us) = match entries.first() {
        None => (0.0, 0.0),
        Some(Value::Array(entry)) => {
            match (entry.first().and_then(int), entry.get(2).and_then(int)) {
                (Some(id), Some(us)) => (id, us),
                _ => return false,
            }
        }
        Some(_) => return false,
    };
    out.push(MetricFamily::gauge("redis_slowlog_last_id", "Last id of slowlog").with_value(id));
    out.push(
        MetricFamily::gauge(
            "redis_last_slow_execution_duration_seconds",
            "The amount of time needed for last slow execution, in seconds",
        )
        .with_value(duration_us / 1e6),
    );
    true
}

/// `LATENCY LATEST` → per event `[name, unix time, latest ms, max ms, …]`.
pub(super) fn latency_latest(reply: &Value, out: &mut Vec<MetricFamily>) -> bool {
    let Value::Array(events) = reply else {
        return false;
    };
    let mut last = MetricFamily::gauge(
        "redis_latency_spike_last",
        "When the latency spike last occurred, as a Unix time",
    );
    let mut duration = MetricFamily::gauge(
        "redis_latency_spike_duration_seconds",
        "Length of the last latency spike in seconds",
    );
    for event in events {
        let Value::Array(parts) = event else { continue };
        let (Some(name), Some(at), Some(ms)) = (
            parts.first().and_then(text),
            parts.get(1).and_then(int),
            parts.get(2).and_then(int),
        ) else {
            continue;
        };
        let event_name = labels(&[("event_name", &name)]);
        last.push(event_name.clone(), at);
        duration.push(event_name, ms / 1000.0);
    }
    out.push(last);
    out.push(duration);
    true
}

/// `CLUSTER INFO` (the same `field:value` text as INFO) → `redis_cluster_*`.
pub(super) fn cluster_info(reply: &Value, out: &mut Vec<MetricFamily>) -> bool {
    let Some(body) = text(reply) else {
        return false;
    };
    let parsed = super::info::parse(&body);
    table_families(
        CLUSTER_FIELDS,
        &|name| parsed.get(name).map(str::to_owned),
        out,
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    fn value_of(out: &[MetricFamily], name: &str) -> Option<f64> {
        out.iter()
            .flat_map(|f| &f.samples)
            .find(|s| s.name == name)
            .map(|s| s.value)
    }

    #[test]
    fn config_resp2_and_resp3() {
        let flat = Value::Array(vec![
            bulk("maxmemory"),
            bulk("104857600"),
            bulk("databases"),
            bulk("16"),
            bulk("dangling"),
        ]);
        let pairs = config_pairs(&flat);
        assert_eq!(config_databases(&pairs), Some(16));
        let mut out = Vec::new();
        config_families(&pairs, &mut out);
        assert_eq!(value_of(&out, "redis_config_maxmemory"), Some(104857600.0));
        let map = Value::Map(vec![(bulk("maxclients"), bulk("10000"))]);
        let mut out = Vec::new();
        config_families(&config_pairs(&map), &mut out);
        assert_eq!(value_of(&out, "redis_config_maxclients"), Some(10000.0));
        assert!(config_pairs(&Value::Nil).is_empty());
    }

    #[test]
    fn config_command_by_version() {
        let seven = config_get(Some(7)).get_packed_command();
        assert!(String::from_utf8_lossy(&seven).contains("io-threads"));
        let six = config_get(Some(6)).get_packed_command();
        assert!(String::from_utf8_lossy(&six).contains('*'));
    }

    #[test]
    fn slowlog() {
        let mut out = Vec::new();
        assert!(slowlog_len(&Value::Int(3), &mut out));
        assert!(slowlog_last(&Value::Array(vec![]), &mut out));
        assert_eq!(value_of(&out, "redis_slowlog_last_id"), Some(0.0));
        let entry = Value::Array(vec![Value::Array(vec![
            Value::Int(7),
            Value::Int(1_700_000_000),
            Value::Int(50_000),
            Value::Array(vec![bulk("DEBUG"), bulk("SLEEP")]),
        ])]);
        let mut out = Vec::new();
        assert!(slowlog_last(&entry, &mut out));
        assert_eq!(value_of(&out, "redis_slowlog_last_id"), Some(7.0));
        assert_eq!(
            value_of(&out, "redis_last_slow_execution_duration_seconds"),
            Some(0.05)
        );
        assert!(!slowlog_last(
            &Value::Array(vec![Value::Int(1)]),
            &mut Vec::new()
        ));
        assert!(!slowlog_len(&Value::Nil, &mut Vec::new()));
    }

    #[test]
    fn latency() {
        let reply = Value::Array(vec![
            Value::Array(vec![
                bulk("command"),
                Value::Int(1_700_000_000),
                Value::Int(250),
                Value::Int(300),
            ]),
            Value::Array(vec![bulk("short")]),
            Value::Int(5),
        ]);
        let mut out = Vec::new();
        assert!(latency_latest(&reply, &mut out));
        assert_eq!(
            value_of(&out, "redis_latency_spike_duration_seconds"),
            Some(0.25)
        );
        assert_eq!(value_of(&out, "redis_latency_spike_last"), Some(1.7e9));
        assert_eq!(out[0].samples.len(), 1);
    }

    #[test]
    fn cluster() {
        let reply = bulk("cluster_state:fail\r\ncluster_slots_assigned:0\r\ncluster_known_nodes:1\r\ncluster_stats_messages_sent:12\r\n");
        let mut out = Vec::new();
        assert!(cluster_info(&reply, &mut out));
        assert_eq!(value_of(&out, "redis_cluster_state"), Some(0.0));
        assert_eq!(value_of(&out, "redis_cluster_known_nodes"), Some(1.0));
        assert_eq!(
            value_of(&out, "redis_cluster_messages_sent_total"),
            Some(12.0)
        );
    }
}
