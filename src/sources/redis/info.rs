//! Parsing the `INFO` reply and the families built from it.

use std::collections::HashMap;

use crate::model::{Labels, MetricFamily};
use crate::sources::{ErrorReason, PollError};

/// `INFO` as field → value. Section headers (`# Server`) and blank lines are skipped;
/// `\r\n` and `\n` line ends are both accepted.
pub(super) fn parse(text: &str) -> HashMap<&str, &str> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .collect()
}

/// Labels of `redis_instance_info`, in redis_exporter's names.
const INSTANCE_INFO_FIELDS: [&str; 8] = [
    "redis_version",
    "redis_mode",
    "role",
    "os",
    "redis_build_id",
    "tcp_port",
    "process_id",
    "run_id",
];

pub(super) fn instance_info(
    fields: &HashMap<&str, &str>,
    out: &mut Vec<MetricFamily>,
) -> Result<(), PollError> {
    if !fields.contains_key("redis_version") {
        return Err(PollError::new(
            ErrorReason::Protocol,
            "INFO reply has no redis_version field; is this a Redis server?",
        ));
    }
    let labels: Labels = INSTANCE_INFO_FIELDS
        .iter()
        .map(|name| {
            (
                (*name).to_owned(),
                fields.get(name).copied().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut family = MetricFamily::gauge(
        "redis_instance_info",
        "Information about the Redis instance; the value is always 1.",
    );
    family.push(labels, 1.0);
    out.push(family);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_and_crlf() {
        let text = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n\r\n# Replication\r\nrole:master\r\n";
        let fields = parse(text);
        assert_eq!(fields.get("redis_version"), Some(&"7.0.15"));
        assert_eq!(fields.get("role"), Some(&"master"));
        let mut out = Vec::new();
        instance_info(&fields, &mut out).unwrap();
        let labels = &out[0].samples[0].labels;
        assert!(labels.contains(&("role".to_owned(), "master".to_owned())));
        assert!(labels.contains(&("redis_mode".to_owned(), "standalone".to_owned())));
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let fields = parse("hello world\nnot:info");
        let err = instance_info(&fields, &mut Vec::new()).unwrap_err();
        assert_eq!(err.reason, ErrorReason::Protocol);
    }
}
