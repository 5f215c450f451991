//! Numeric `pg_settings` as `pg_settings_<name>`, with units normalised: sizes to bytes
//! (`_bytes`), times to seconds (`_seconds`), as postgres_exporter names them. A unit
//! we do not know is skipped and logged once, never a panic.

use crate::model::MetricFamily;
use crate::sources::PollError;

use super::columns::{parse_number, text};
use super::PostgresSource;

pub(super) async fn collect(
    source: &mut PostgresSource,
    out: &mut Vec<MetricFamily>,
) -> Result<(), PollError> {
    let rows = source
        .query(
            "SELECT name, setting, COALESCE(unit, '') AS unit, vartype, short_desc \
             FROM pg_settings WHERE vartype IN ('bool', 'integer', 'real')",
        )
        .await?;
    for row in &rows {
        let name = text(row, "name")?.unwrap_or_default();
        let setting = text(row, "setting")?.unwrap_or_default();
        let unit = text(row, "unit")?.unwrap_or_default();
        let help = text(row, "short_desc")?.unwrap_or_default();
        let Some(value) = parse_number(setting) else {
            continue;
        };
        match normalise(name, value, unit) {
            Some((metric, value)) => {
                let help = if unit.is_empty() {
                    help.to_owned()
                } else {
                    format!("{help} [server unit: {unit}]")
                };
                out.push(MetricFamily::gauge(metric, help).with_value(value));
            }
            None => source.log_once(
                format!("settings-unit:{name}:{unit}"),
                &format!("setting {name} has unit `{unit}` that we cannot convert; skipped"),
            ),
        }
    }
    Ok(())
}

/// The metric name and value for a setting, or `None` for an unknown unit. -1 (the
/// conventional "disabled") is kept as -1, not scaled.
fn normalise(name: &str, value: f64, unit: &str) -> Option<(String, f64)> {
    let base = format!("pg_settings_{}", sanitise(name));
    if unit.is_empty() {
        return Some((base, value));
    }
    let (factor, suffix) = unit_factor(unit)?;
    let scaled = if value == -1.0 { -1.0 } else { value * factor };
    Some((format!("{base}_{suffix}"), scaled))
}

/// Units as pg_settings reports them: a size (`B`, `kB`, `MB`, `GB`, `TB`), possibly
/// with a multiplier (`8kB`, `16MB`), or a time (`us`, `ms`, `s`, `min`, `h`, `d`).
fn unit_factor(unit: &str) -> Option<(f64, &'static str)> {
    let time = match unit {
        "us" => Some(1e-6),
        "ms" => Some(1e-3),
        "s" => Some(1.0),
        "min" => Some(60.0),
        "h" => Some(3600.0),
        "d" => Some(86400.0),
        _ => None,
    };
    if let Some(f) = time {
        return Some((f, "seconds"));
    }
    let digits_end = unit
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(unit.len());
    let multiplier: f64 = if digits_end == 0 {
        1.0
    } else {
        unit[..digits_end].parse().ok()?
    };
    let size = match &unit[digits_end..] {
        "B" => 1.0,
        "kB" => 1024.0,
        "MB" => 1024.0 * 1024.0,
        "GB" => 1024.0 * 1024.0 * 1024.0,
        "TB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((multiplier * size, "bytes"))
}

/// Setting names are identifiers, but extensions may use dots (`pg_stat_statements.max`).
fn sanitise(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_normalised() {
        assert_eq!(
            normalise("shared_buffers", 16384.0, "8kB"),
            Some(("pg_settings_shared_buffers_bytes".into(), 134217728.0))
        );
        assert_eq!(
            normalise("work_mem", 4096.0, "kB"),
            Some(("pg_settings_work_mem_bytes".into(), 4194304.0))
        );
        assert_eq!(
            normalise("wal_segment_size", 16777216.0, "B"),
            Some(("pg_settings_wal_segment_size_bytes".into(), 16777216.0))
        );
        assert_eq!(
            normalise("max_wal_size", 1024.0, "MB"),
            Some(("pg_settings_max_wal_size_bytes".into(), 1073741824.0))
        );
        assert_eq!(
            normalise("checkpoint_timeout", 300.0, "s"),
            Some(("pg_settings_checkpoint_timeout_seconds".into(), 300.0))
        );
        assert_eq!(
            normalise("log_rotation_age", 1440.0, "min"),
            Some(("pg_settings_log_rotation_age_seconds".into(), 86400.0))
        );
        assert_eq!(
            normalise("vacuum_cost_delay", 2.0, "ms"),
            Some(("pg_settings_vacuum_cost_delay_seconds".into(), 0.002))
        );
        assert_eq!(
            normalise("max_connections", 100.0, ""),
            Some(("pg_settings_max_connections".into(), 100.0))
        );
        assert_eq!(
            normalise("pg_stat_statements.max", 5000.0, ""),
            Some(("pg_settings_pg_stat_statements_max".into(), 5000.0))
        );
    }

    #[test]
    fn minus_one_means_disabled_and_is_not_scaled() {
        assert_eq!(
            normalise("log_min_duration_statement", -1.0, "ms"),
            Some((
                "pg_settings_log_min_duration_statement_seconds".into(),
                -1.0
            ))
        );
        assert_eq!(
            normalise("temp_file_limit", -1.0, "kB"),
            Some(("pg_settings_temp_file_limit_bytes".into(), -1.0))
        );
    }

    #[test]
    fn unknown_units_are_rejected_not_panicked_on() {
        assert_eq!(normalise("x", 1.0, "furlongs"), None);
        assert_eq!(
            normalise("x", 1.0, "99999999999999999999999kB").map(|(n, _)| n),
            Some("pg_settings_x_bytes".into())
        );
        assert_eq!(normalise("x", 1.0, "kb"), None);
        assert_eq!(normalise("x", 1.0, "8"), None);
    }
}
