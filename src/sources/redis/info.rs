//! Parsing the `INFO` reply and the families built from it. Everything is looked up by
//! field name; a line that does not parse is skipped, never an error, because one odd
//! field from a newer server or a proxy must not cost the whole poll.

use std::collections::{BTreeMap, HashMap};

use super::fields::{self, Field, Kind};
use crate::model::{labels, Labels, MetricFamily, MetricType, Sample};
use crate::sources::{ErrorReason, PollError};

/// `INFO` as field → value, plus the lines in order (for the fields with many
/// instances: `dbN`, `slaveN`, `cmdstat_*` …). Section headers (`# Server`) and blank
/// lines are skipped; `\r\n` and `\n` line ends are both accepted. A repeated field
/// keeps its first value.
#[derive(Debug, Default)]
pub(super) struct Info<'a> {
    pub fields: HashMap<&'a str, &'a str>,
    pub lines: Vec<(&'a str, &'a str)>,
}

impl<'a> Info<'a> {
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.fields.get(name).copied()
    }

    /// The major version from `redis_version` (`7.0.15` → 7).
    pub fn major_version(&self) -> Option<u32> {
        self.get("redis_version")?.split('.').next()?.parse().ok()
    }

    pub fn cluster_enabled(&self) -> bool {
        self.get("cluster_enabled").map(str::trim) == Some("1")
    }
}

pub(super) fn parse(text: &str) -> Info<'_> {
    let mut info = Info::default();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Field names never contain `:`; values may (`executable:/usr/bin/redis-server`).
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if key.is_empty() {
            continue;
        }
        info.fields.entry(key).or_insert(value);
        info.lines.push((key, value));
    }
    info
}

/// `a=1,b=2` → pairs, by name; parts without `=` are skipped.
fn sub_fields(value: &str) -> HashMap<&str, &str> {
    value
        .split(',')
        .filter_map(|part| part.split_once('='))
        .collect()
}

/// Prefixes of fields that come in many instances, each handled by its own builder.
const COMMANDSTAT: &str = "cmdstat_";
const ERRORSTAT: &str = "errorstat_";
const LATENCYSTAT: &str = "latency_percentiles_usec_";

/// `dbN` (keyspace) and `slaveN` (replicas): a prefix and then digits only.
fn numbered<'a>(key: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = key.strip_prefix(prefix)?;
    (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())).then_some(rest)
}

/// Fields of a replica's link to its master, labelled `master_host`/`master_port` as
/// redis_exporter does.
const MASTER_LINK_FIELDS: [(&str, &str, &str); 3] = [
    (
        "master_last_io_seconds_ago",
        "redis_master_last_io_seconds_ago",
        "Seconds since the last interaction with the master (-1: none).",
    ),
    (
        "master_sync_in_progress",
        "redis_master_sync_in_progress",
        "Whether a sync with the master is running (1) or not (0).",
    ),
    (
        "slave_repl_offset",
        "redis_slave_repl_offset",
        "Replication offset of this replica, in bytes.",
    ),
];

fn is_handled_elsewhere(key: &str) -> bool {
    key.starts_with(COMMANDSTAT)
        || key.starts_with(ERRORSTAT)
        || key.starts_with(LATENCYSTAT)
        || numbered(key, "db").is_some()
        || numbered(key, "slave").is_some()
        || key == "master_link_status"
        || MASTER_LINK_FIELDS.iter().any(|(f, _, _)| *f == key)
}

/// Numeric fields that are neither in the table nor known to be ignored, in reply
/// order: fields of a server newer than the table. They are not exported (see
/// docs/redis.md), only counted and logged.
pub(super) fn unknown_fields<'a>(info: &Info<'a>) -> Vec<&'a str> {
    info.lines
        .iter()
        .filter(|(k, v)| {
            fields::lookup(k).is_none()
                && !fields::is_ignored(k)
                && !is_handled_elsewhere(k)
                && fields::parse_number(v).is_some()
        })
        .map(|(k, _)| *k)
        .collect()
}

/// One family per field of `table` present in `values` (looked up by name), in table
/// order. Fields whose value is not a number are left out.
pub(super) fn table_families(
    table: &[Field],
    values: &dyn Fn(&str) -> Option<String>,
    out: &mut Vec<MetricFamily>,
) {
    for f in table {
        let Some(value) = values(f.info).and_then(|v| f.value(&v)) else {
            continue;
        };
        out.push(single(f, value));
    }
}

fn single(f: &Field, value: f64) -> MetricFamily {
    match f.kind {
        Kind::Gauge => MetricFamily::gauge(f.metric, f.help).with_value(value),
        Kind::Counter => MetricFamily::counter(f.metric, f.help).with_value(value),
        Kind::BareCounter => {
            let mut family = MetricFamily::counter(f.metric, f.help);
            family.push_bare(Vec::new(), value);
            family
        }
    }
}

/// Every family built from `INFO` but `redis_instance_info`: the field table,
/// keyspace, replication, command, error and latency statistics,
/// `redis_start_time_seconds`. `databases` is the number of databases to report
/// `redis_db_keys` for even when empty.
pub(super) fn families(
    info: &Info<'_>,
    databases: usize,
    now_unix: f64,
    out: &mut Vec<MetricFamily>,
) {
    table_families(
        fields::FIELDS,
        &|name| info.get(name).map(str::to_owned),
        out,
    );
    start_time(info, now_unix, out);
    keyspace(info, databases, out);
    replication(info, out);
    command_stats(info, out);
    error_stats(info, out);
}

/// Labels of `redis_instance_info`, in redis_exporter's names (label order carries no
/// meaning; this one puts the version first for people reading the text).
const INSTANCE_INFO_FIELDS: [&str; 10] = [
    "redis_version",
    "redis_mode",
    "role",
    "os",
    "redis_build_id",
    "tcp_port",
    "process_id",
    "run_id",
    "maxmemory_policy",
    "master_replid",
];

/// Valkey's own fields, added as labels only when the server reports them so that
/// Redis servers keep redis_exporter's label set exactly.
const VALKEY_INFO_FIELDS: [&str; 2] = ["valkey_version", "server_name"];

pub(super) fn instance_info(info: &Info<'_>, out: &mut Vec<MetricFamily>) -> Result<(), PollError> {
    if info.get("redis_version").is_none() {
        return Err(PollError::new(
            ErrorReason::Protocol,
            "INFO reply has no redis_version field; is this a Redis server?",
        ));
    }
    let mut pairs: Labels = INSTANCE_INFO_FIELDS
        .iter()
        .map(|name| {
            let mut value = info.get(name).unwrap_or_default();
            // Valkey 8 reports its mode under its own name.
            if *name == "redis_mode" && value.is_empty() {
                value = info.get("server_mode").unwrap_or_default();
            }
            ((*name).to_owned(), value.to_owned())
        })
        .collect();
    for name in VALKEY_INFO_FIELDS {
        if let Some(value) = info.get(name) {
            pairs.push((name.to_owned(), value.to_owned()));
        }
    }
    let mut family = MetricFamily::gauge(
        "redis_instance_info",
        "Information about the Redis instance; the value is always 1.",
    );
    family.push(pairs, 1.0);
    out.push(family);
    Ok(())
}

/// When the server started, from its own clock where it reports it (`server_time_usec`)
/// so that the value does not wobble with our clock or the poll's latency.
fn start_time(info: &Info<'_>, now_unix: f64, out: &mut Vec<MetricFamily>) {
    let Some(uptime) = info.get("uptime_in_seconds").and_then(fields::parse_number) else {
        return;
    };
    let now = info
        .get("server_time_usec")
        .and_then(fields::parse_number)
        .map(|us| (us / 1e6).floor())
        .unwrap_or(now_unix.floor());
    out.push(
        MetricFamily::gauge(
            "redis_start_time_seconds",
            "Start time of the Redis instance since unix epoch in seconds.",
        )
        .with_value(now - uptime),
    );
}

/// `db0:keys=1,expires=0,avg_ttl=0[,subexpiry=0]`, parsed by sub-field name. Databases
/// `db0`..`db<databases-1>` without keys get `redis_db_keys`/`_expiring` 0, as
/// redis_exporter reports them, so that series exist before the first key.
fn keyspace(info: &Info<'_>, databases: usize, out: &mut Vec<MetricFamily>) {
    let mut keys = MetricFamily::gauge("redis_db_keys", "Total number of keys by DB");
    let mut expiring = MetricFamily::gauge(
        "redis_db_keys_expiring",
        "Total number of expiring keys by DB",
    );
    let mut avg_ttl = MetricFamily::gauge("redis_db_avg_ttl_seconds", "Avg TTL in seconds");
    let mut cached = MetricFamily::gauge("redis_db_keys_cached", "Cached keys by DB (KeyDB)");
    let mut sub_expiring = MetricFamily::gauge(
        "redis_db_keys_with_expiring_items",
        "Keys with expiring sub-items (hash fields) by DB",
    );
    let mut seen = Vec::new();
    for (key, value) in &info.lines {
        let Some(index) = numbered(key, "db") else {
            continue;
        };
        let subs = sub_fields(value);
        let number = |name: &str| subs.get(name).and_then(|v| fields::parse_number(v));
        let (Some(k), Some(e)) = (number("keys"), number("expires")) else {
            continue;
        };
        let db = labels(&[("db", key)]);
        keys.push(db.clone(), k);
        expiring.push(db.clone(), e);
        if let Some(ttl) = number("avg_ttl") {
            avg_ttl.push(db.clone(), ttl / 1000.0);
        }
        if let Some(v) = number("cached_keys") {
            cached.push(db.clone(), v);
        }
        // Redis 7.4 says `subexpiry`, Valkey 9 `keys_with_volatile_items`.
        if let Some(v) = number("subexpiry").or_else(|| number("keys_with_volatile_items")) {
            sub_expiring.push(db, v);
        }
        if let Ok(i) = index.parse::<usize>() {
            seen.push(i);
        }
    }
    for i in (0..databases).filter(|i| !seen.contains(i)) {
        let db = labels(&[("db", &format!("db{i}"))]);
        keys.push(db.clone(), 0.0);
        expiring.push(db, 0.0);
    }
    out.extend([keys, expiring, avg_ttl, cached, sub_expiring]);
}

/// Per-replica lines of a master, and a replica's link to its master.
fn replication(info: &Info<'_>, out: &mut Vec<MetricFamily>) {
    let mut offset = MetricFamily::gauge(
        "redis_connected_slave_offset_bytes",
        "Offset of connected slave",
    );
    let mut lag = MetricFamily::gauge(
        "redis_connected_slave_lag_seconds",
        "Lag of connected slave",
    );
    for (key, value) in &info.lines {
        if numbered(key, "slave").is_none() {
            continue;
        }
        // slave0:ip=10.0.0.2,port=6379,state=online,offset=1751844676,lag=0
        let subs = sub_fields(value);
        let Some(off) = subs.get("offset").and_then(|v| fields::parse_number(v)) else {
            continue;
        };
        let replica = labels(&[
            ("slave_ip", subs.get("ip").copied().unwrap_or_default()),
            ("slave_port", subs.get("port").copied().unwrap_or_default()),
            (
                "slave_state",
                subs.get("state").copied().unwrap_or_default(),
            ),
        ]);
        offset.push(replica.clone(), off);
        // Redis before 3.0 has no lag.
        if let Some(l) = subs.get("lag").and_then(|v| fields::parse_number(v)) {
            lag.push(replica, l);
        }
    }
    out.push(offset);
    out.push(lag);

    let role = info.get("role").unwrap_or_default();
    let master = labels(&[
        ("master_host", info.get("master_host").unwrap_or_default()),
        ("master_port", info.get("master_port").unwrap_or_default()),
    ]);
    if let Some(status) = info.get("master_link_status") {
        let mut link = MetricFamily::gauge(
            "redis_master_link_up",
            "Whether the replica's link to its master is up (1) or not (0).",
        );
        link.push(
            master.clone(),
            if status.trim() == "up" { 1.0 } else { 0.0 },
        );
        out.push(link);
    }
    for (field, metric, help) in MASTER_LINK_FIELDS {
        if let Some(v) = info.get(field).and_then(fields::parse_number) {
            let mut family = MetricFamily::gauge(metric, help);
            family.push(master.clone(), v);
            out.push(family);
        }
    }
    if role == "slave" {
        let mut slave = MetricFamily::gauge(
            "redis_slave_info",
            "Information about the Redis replica; the value is always 1.",
        );
        let mut pairs = master;
        pairs.push((
            "read_only".to_owned(),
            info.get("slave_read_only").unwrap_or_default().to_owned(),
        ));
        slave.push(pairs, 1.0);
        out.push(slave);
    }
}

/// `cmdstat_get:calls=21,usec=175,usec_per_call=8.33,rejected_calls=0,failed_calls=0`
/// (the last two since 6.2) and 7.0's `latency_percentiles_usec_get:p50=…,p99=…`.
fn command_stats(info: &Info<'_>, out: &mut Vec<MetricFamily>) {
    let mut calls = MetricFamily::counter("redis_commands", "Total number of calls per command");
    let mut duration = MetricFamily::counter(
        "redis_commands_duration_seconds",
        "Total amount of time in seconds spent per command",
    );
    let mut rejected = MetricFamily::counter(
        "redis_commands_rejected_calls",
        "Total number of errors within command execution per command",
    );
    let mut failed = MetricFamily::counter(
        "redis_commands_failed_calls",
        "Total number of errors prior command execution per command",
    );
    // (calls, usec) per command, for the latency summary's _count and _sum.
    let mut totals: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for (key, value) in &info.lines {
        let Some(cmd) = key.strip_prefix(COMMANDSTAT).filter(|c| !c.is_empty()) else {
            continue;
        };
        let subs = sub_fields(value);
        let number = |name: &str| subs.get(name).and_then(|v| fields::parse_number(v));
        let (Some(n), Some(usec)) = (number("calls"), number("usec")) else {
            continue;
        };
        let label = labels(&[("cmd", cmd)]);
        calls.push(label.clone(), n);
        duration.push(label.clone(), usec / 1e6);
        if let Some(v) = number("rejected_calls") {
            rejected.push(label.clone(), v);
        }
        if let Some(v) = number("failed_calls") {
            failed.push(label, v);
        }
        totals.insert(cmd, (n, usec));
    }
    out.extend([calls, duration, rejected, failed]);
    out.push(latency_summary(info, &totals));
}

/// `redis_latency_percentiles_usec`, shaped exactly as redis_exporter shapes it so its
/// dashboards keep working: a summary per command whose `quantile` label is the
/// percentile as Redis names it (`50`, `99`, `99.9`, not `0.5`…), values in
/// microseconds, `_sum` (microseconds) and `_count` from commandstats. A command without
/// commandstats has no summary (a summary needs its count).
fn latency_summary(info: &Info<'_>, totals: &BTreeMap<&str, (f64, f64)>) -> MetricFamily {
    const NAME: &str = "redis_latency_percentiles_usec";
    let mut family = MetricFamily::new(
        NAME,
        MetricType::Summary,
        "A summary of latency percentile distribution per command",
    );
    for (key, value) in &info.lines {
        let Some(cmd) = key.strip_prefix(LATENCYSTAT).filter(|c| !c.is_empty()) else {
            continue;
        };
        let Some((count, sum)) = totals.get(cmd) else {
            continue;
        };
        let mut quantiles: Vec<(f64, f64)> = value
            .split(',')
            .filter_map(|part| {
                let (p, v) = part.split_once('=')?;
                let p = fields::parse_number(p.strip_prefix('p')?)?;
                Some((p, fields::parse_number(v)?))
            })
            .collect();
        if quantiles.is_empty() {
            continue;
        }
        quantiles.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (p, v) in quantiles {
            family.push(labels(&[("cmd", cmd), ("quantile", &p.to_string())]), v);
        }
        for (suffix, v) in [("_sum", *sum), ("_count", *count)] {
            family.samples.push(Sample {
                name: format!("{NAME}{suffix}"),
                labels: labels(&[("cmd", cmd)]),
                value: v,
                timestamp_ms: None,
            });
        }
    }
    family
}

/// `errorstat_ERR:count=196` (6.2+).
fn error_stats(info: &Info<'_>, out: &mut Vec<MetricFamily>) {
    let mut errors = MetricFamily::counter("redis_errors", "Total number of errors per error type");
    for (key, value) in &info.lines {
        let Some(err) = key.strip_prefix(ERRORSTAT).filter(|e| !e.is_empty()) else {
            continue;
        };
        if let Some(n) = sub_fields(value)
            .get("count")
            .and_then(|v| fields::parse_number(v))
        {
            errors.push(labels(&[("err", err)]), n);
        }
    }
    out.push(errors);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(text: &str) -> Vec<MetricFamily> {
        let info = parse(text);
        let mut out = Vec::new();
        instance_info(&info, &mut out).unwrap();
        families(&info, 16, 1_000_000.0, &mut out);
        out
    }

    fn sample<'f>(
        families: &'f [MetricFamily],
        name: &str,
        want: &[(&str, &str)],
    ) -> Option<&'f Sample> {
        families.iter().flat_map(|f| &f.samples).find(|s| {
            s.name == name
                && want
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
    }

    fn value(families: &[MetricFamily], name: &str, want: &[(&str, &str)]) -> Option<f64> {
        sample(families, name, want).map(|s| s.value)
    }

    const SERVER: &str = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nprocess_id:42\r\ntcp_port:6379\r\nuptime_in_seconds:100\r\nserver_time_usec:1795393039057597\r\n";

    #[test]
    fn parses_sections_and_crlf() {
        let text = format!("{SERVER}\r\n# Replication\r\nrole:master\r\nmaster_replid:abc\r\n");
        let out = build(&text);
        let info = sample(&out, "redis_instance_info", &[]).unwrap();
        for (k, v) in [
            ("role", "master"),
            ("redis_mode", "standalone"),
            ("redis_version", "7.0.15"),
            ("master_replid", "abc"),
            ("maxmemory_policy", ""),
            ("process_id", "42"),
        ] {
            assert!(info.labels.contains(&(k.into(), v.into())), "{k}");
        }
        assert!(!info.labels.iter().any(|(k, _)| k == "valkey_version"));
        assert_eq!(value(&out, "redis_process_id", &[]), Some(42.0));
        assert_eq!(
            value(&out, "redis_start_time_seconds", &[]),
            Some(1795393039.0 - 100.0)
        );
    }

    #[test]
    fn lf_only_and_valkey_labels() {
        let out = build("# Server\nredis_version:7.2.4\nserver_name:valkey\nvalkey_version:8.0.1\nserver_mode:cluster\n");
        let info = sample(&out, "redis_instance_info", &[]).unwrap();
        assert!(info
            .labels
            .contains(&("valkey_version".into(), "8.0.1".into())));
        assert!(info
            .labels
            .contains(&("server_name".into(), "valkey".into())));
        assert!(info
            .labels
            .contains(&("redis_mode".into(), "cluster".into())));
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let info = parse("hello world\nnot:info");
        let err = instance_info(&info, &mut Vec::new()).unwrap_err();
        assert_eq!(err.reason, ErrorReason::Protocol);
    }

    #[test]
    fn table_fields_by_name_with_types_and_scales() {
        let text = format!(
            "{SERVER}# Stats\r\nkeyspace_hits:7\r\nlatest_fork_usec:1500\r\ntotal_error_replies:3\r\nmigrate_cached_sockets:2\r\nexpired_time_cap_reached_count:5\r\n# Persistence\r\nrdb_last_bgsave_status:err\r\naof_last_write_status:ok\r\n# Memory\r\nused_memory:18446744073709551615\r\nused_memory_human:1.09M\r\n"
        );
        let out = build(&text);
        assert_eq!(value(&out, "redis_keyspace_hits_total", &[]), Some(7.0));
        assert_eq!(value(&out, "redis_latest_fork_seconds", &[]), Some(0.0015));
        assert_eq!(value(&out, "redis_total_error_replies", &[]), Some(3.0));
        assert_eq!(value(&out, "redis_migrate_cached_sockets", &[]), Some(2.0));
        assert_eq!(
            value(&out, "redis_expired_time_cap_reached_total", &[]),
            Some(5.0)
        );
        assert_eq!(value(&out, "redis_rdb_last_bgsave_status", &[]), Some(0.0));
        assert_eq!(value(&out, "redis_aof_last_write_status", &[]), Some(1.0));
        assert_eq!(
            value(&out, "redis_memory_used_bytes", &[]),
            Some(18446744073709551615.0)
        );
        let fams: Vec<&str> = out.iter().map(|f| f.name.as_str()).collect();
        assert!(!fams.iter().any(|n| n.contains("human")));
    }

    #[test]
    fn non_numeric_values_are_left_out() {
        let out = build(&format!(
            "{SERVER}connected_clients:many\r\nused_memory:\r\nkeyspace_hits:1e3\r\n"
        ));
        assert_eq!(value(&out, "redis_connected_clients", &[]), None);
        assert_eq!(value(&out, "redis_memory_used_bytes", &[]), None);
        assert_eq!(value(&out, "redis_keyspace_hits_total", &[]), Some(1000.0));
    }

    #[test]
    fn unknown_fields_are_found_not_exported() {
        let text = format!(
            "{SERVER}brand_new_counter:12\r\nbrand_new_text:abc\r\nused_memory_human:1M\r\ncmdstat_get:calls=1,usec=1\r\ndb0:keys=1,expires=0\r\n"
        );
        let info = parse(&text);
        assert_eq!(unknown_fields(&info), vec!["brand_new_counter"]);
        let out = build(&text);
        assert!(!out.iter().any(|f| f.name.contains("brand_new")));
    }

    #[test]
    fn garbage_lines_are_skipped() {
        let text = format!(
            "{SERVER}no colon here\r\n:empty key\r\n\u{0}\u{ff}:x\r\nconnected_clients:3\r\n#comment:1\r\n"
        );
        let out = build(&text);
        assert_eq!(value(&out, "redis_connected_clients", &[]), Some(3.0));
    }

    #[test]
    fn keyspace_with_extra_fields_and_zero_fill() {
        let text = format!(
            "{SERVER}# Keyspace\r\ndb0:keys=10,expires=2,avg_ttl=5000,subexpiry=1\r\ndb3:expires=1,keys=4,avg_ttl=0\r\ndbx:keys=1,expires=1\r\ndb5:keys=oops,expires=1\r\n"
        );
        let out = build(&text);
        assert_eq!(value(&out, "redis_db_keys", &[("db", "db0")]), Some(10.0));
        assert_eq!(
            value(&out, "redis_db_keys_expiring", &[("db", "db3")]),
            Some(1.0)
        );
        assert_eq!(value(&out, "redis_db_keys", &[("db", "db3")]), Some(4.0));
        assert_eq!(
            value(&out, "redis_db_avg_ttl_seconds", &[("db", "db0")]),
            Some(5.0)
        );
        assert_eq!(
            value(&out, "redis_db_keys_with_expiring_items", &[("db", "db0")]),
            Some(1.0)
        );
        // Empty databases are zero-filled; an unparsable line counts as empty.
        assert_eq!(value(&out, "redis_db_keys", &[("db", "db15")]), Some(0.0));
        assert_eq!(value(&out, "redis_db_keys", &[("db", "db5")]), Some(0.0));
        assert_eq!(value(&out, "redis_db_keys", &[("db", "dbx")]), None);
        let keys = out.iter().find(|f| f.name == "redis_db_keys").unwrap();
        assert_eq!(keys.samples.len(), 16);
    }

    #[test]
    fn commandstats_with_pipes_and_latency_summary() {
        let text = format!(
            "{SERVER}# Commandstats\r\ncmdstat_client|setname:calls=3,usec=6,usec_per_call=2.00,rejected_calls=1,failed_calls=0\r\ncmdstat_get:calls=10,usec=2000000\r\ncmdstat_bad:calls=x\r\n# Latencystats\r\nlatency_percentiles_usec_client|setname:p50=1.003,p99=4.015,p99.9=57.087\r\nlatency_percentiles_usec_nostats:p50=1\r\n"
        );
        let out = build(&text);
        let cmd = [("cmd", "client|setname")];
        assert_eq!(value(&out, "redis_commands_total", &cmd), Some(3.0));
        assert_eq!(
            value(&out, "redis_commands_rejected_calls_total", &cmd),
            Some(1.0)
        );
        assert_eq!(
            value(
                &out,
                "redis_commands_duration_seconds_total",
                &[("cmd", "get")]
            ),
            Some(2.0)
        );
        // Pre-6.2 lines have no rejected/failed calls.
        assert_eq!(
            value(&out, "redis_commands_failed_calls_total", &[("cmd", "get")]),
            None
        );
        assert_eq!(value(&out, "redis_commands_total", &[("cmd", "bad")]), None);
        let q = |quantile: &str| {
            value(
                &out,
                "redis_latency_percentiles_usec",
                &[("cmd", "client|setname"), ("quantile", quantile)],
            )
        };
        assert_eq!(q("50"), Some(1.003));
        assert_eq!(q("99.9"), Some(57.087));
        assert_eq!(
            value(&out, "redis_latency_percentiles_usec_count", &cmd),
            Some(3.0)
        );
        assert_eq!(
            value(&out, "redis_latency_percentiles_usec_sum", &cmd),
            Some(6.0)
        );
        assert_eq!(
            value(
                &out,
                "redis_latency_percentiles_usec",
                &[("cmd", "nostats")]
            ),
            None
        );
    }

    #[test]
    fn errorstats() {
        let out = build(&format!(
            "{SERVER}# Errorstats\r\nerrorstat_ERR:count=196\r\nerrorstat_NOPERM:count=2\r\nerrorstat_X:cnt=1\r\n"
        ));
        assert_eq!(
            value(&out, "redis_errors_total", &[("err", "ERR")]),
            Some(196.0)
        );
        assert_eq!(
            value(&out, "redis_errors_total", &[("err", "NOPERM")]),
            Some(2.0)
        );
        assert_eq!(value(&out, "redis_errors_total", &[("err", "X")]), None);
    }

    #[test]
    fn replicas_of_a_master() {
        let out = build(&format!(
            "{SERVER}# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=10.0.0.2,port=6380,state=online,offset=1751844676,lag=1\r\nslave1:ip=10.0.0.3,port=6381,state=wait_bgsave,offset=0\r\nslave2:garbage\r\nslave_read_repl_offset:5\r\n"
        ));
        let r0 = [
            ("slave_ip", "10.0.0.2"),
            ("slave_port", "6380"),
            ("slave_state", "online"),
        ];
        assert_eq!(
            value(&out, "redis_connected_slave_offset_bytes", &r0),
            Some(1751844676.0)
        );
        assert_eq!(
            value(&out, "redis_connected_slave_lag_seconds", &r0),
            Some(1.0)
        );
        let r1 = [("slave_ip", "10.0.0.3")];
        assert_eq!(
            value(&out, "redis_connected_slave_offset_bytes", &r1),
            Some(0.0)
        );
        assert_eq!(value(&out, "redis_connected_slave_lag_seconds", &r1), None);
        assert_eq!(value(&out, "redis_connected_slaves", &[]), Some(2.0));
        // `slave_read_repl_offset` is a table field, not replica number "_read_repl_offset".
        assert_eq!(value(&out, "redis_slave_read_repl_offset", &[]), Some(5.0));
        assert!(sample(&out, "redis_slave_info", &[]).is_none());
    }

    #[test]
    fn replica_link() {
        let out = build(&format!(
            "{SERVER}# Replication\r\nrole:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:6379\r\nmaster_link_status:down\r\nmaster_last_io_seconds_ago:-1\r\nmaster_sync_in_progress:0\r\nslave_repl_offset:99\r\nslave_read_only:1\r\n"
        ));
        let m = [("master_host", "10.0.0.1"), ("master_port", "6379")];
        assert_eq!(value(&out, "redis_master_link_up", &m), Some(0.0));
        assert_eq!(
            value(&out, "redis_master_last_io_seconds_ago", &m),
            Some(-1.0)
        );
        assert_eq!(value(&out, "redis_slave_repl_offset", &m), Some(99.0));
        assert_eq!(
            value(
                &out,
                "redis_slave_info",
                &[("read_only", "1"), ("master_port", "6379")]
            ),
            Some(1.0)
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC*") {
            let info = parse(&text);
            let _ = unknown_fields(&info);
            let mut out = Vec::new();
            let _ = instance_info(&info, &mut out);
            families(&info, 3, 0.0, &mut out);
        }

        #[test]
        fn info_like_text_never_panics(
            lines in proptest::collection::vec(
                "(db[0-9x]{0,3}|slave[0-9]{0,2}|cmdstat_[a-z|]{0,5}|latency_percentiles_usec_[a-z]{0,3}|errorstat_[A-Z]{0,3}|redis_version|used_memory|role)?:[a-z0-9=,.p|:-]{0,30}",
                0..30,
            )
        ) {
            let text = lines.join("\r\n");
            let info = parse(&text);
            let mut out = Vec::new();
            let _ = instance_info(&info, &mut out);
            families(&info, 2, 0.0, &mut out);
        }
    }
}
